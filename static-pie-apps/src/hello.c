/* hello: one line on stdout, one on stderr, status 0. */
#include <stdio.h>

int main(void)
{
    printf("hello from a static-pie program\n");
    fprintf(stderr, "hello on stderr\n");
    return 0;
}
