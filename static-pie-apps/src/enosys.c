/* enosys: calls add_key(2), which elfin does not implement, through
 * syscall(2), and prints the errno by name. Under elfin the answer must be
 * ENOSYS (and the kernel reports "unsupported syscall add_key" once on
 * stderr). Natively (Linux, root) the arguments below are invalid on purpose,
 * so no key is ever created; Linux answers EFAULT or EINVAL there. The program
 * then goes on, to show that an unsupported syscall is not fatal. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"

int main(void)
{
    long r;

    errno = 0;
    /* type NULL: Linux rejects it with EFAULT before touching any keyring. */
    r = syscall(SYS_add_key, (const char *)0, (const char *)0, (const void *)0, 0L, -2L);
    printf("add_key: %ld %s\n", r, errname(r < 0 ? errno : 0));
    errno = 0;
    r = syscall(SYS_add_key, (const char *)0, (const char *)0, (const void *)0, 0L, -2L);
    printf("add_key again: %ld %s\n", r, errname(r < 0 ? errno : 0));
    printf("still running after an unsupported syscall\n");
    return 0;
}
