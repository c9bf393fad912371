/* cat_stdin: copies stdin to stdout with read(2)/write(2), byte-exact, then
 * reports the byte count on stderr. Status 0, or 1 on an I/O error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(1, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(void)
{
    static char buf[16384];
    unsigned long long total = 0;

    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "cat_stdin: read: %s\n", strerror(errno));
            return 1;
        }
        if (n == 0)
            break;
        if (write_all(buf, (size_t)n) < 0) {
            fprintf(stderr, "cat_stdin: write: %s\n", strerror(errno));
            return 1;
        }
        total += (unsigned long long)n;
    }
    fprintf(stderr, "cat_stdin: %llu bytes\n", total);
    return 0;
}
