/* mm_malloc [MiB [all]]: malloc a large block (default 1 GiB), touch one byte in
 * every 16 MiB of it (every page with "all"), and free it — works in a VM with far
 * less RAM than the block unless every page is touched. */
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
    size_t stride = argc > 2 ? 4096 : 16 << 20;
    for (size_t i = 0; i < n; i += stride) {
        p[i] = (unsigned char)(i >> 20);
        sum += p[i];
    }
    p[n - 1] = 1;
    printf("malloc(%zu MiB) ok, touched %zu pages, sum %lu\n", mib, n / stride + 1, sum + p[n - 1]);
    free(p);
    return 0;
}
