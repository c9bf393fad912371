/* mm_malloc [MiB]: malloc a large block (default 1 GiB), touch one byte in every
 * 16 MiB of it, and free it — works in a VM with far less RAM than the block. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    size_t n = mib << 20;
    unsigned char *p = malloc(n);
    if (!p) {
        printf("malloc(%zu MiB) failed\n", mib);
        return 1;
    }
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 16 << 20) {
        p[i] = (unsigned char)(i >> 20);
        sum += p[i];
    }
    p[n - 1] = 1;
    printf("malloc(%zu MiB) ok, touched %zu pages, sum %lu\n", mib, n / (16 << 20) + 1, sum + p[n - 1]);
    free(p);
    return 0;
}
