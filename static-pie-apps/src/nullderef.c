/* nullderef: prints a line, then writes through a NULL pointer (SIGSEGV, status 139). */
#include <stdio.h>

int main(void)
{
    volatile int *p = (volatile int *)0;

    printf("before the NULL dereference\n");
    fflush(stdout);
    *p = 42;
    printf("after the NULL dereference (should not happen)\n");
    return 0;
}
