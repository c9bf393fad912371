/* exitcode N: exits with status N (atoi; default 0). Prints nothing. */
#include <stdlib.h>

int main(int argc, char **argv)
{
    exit(argc > 1 ? atoi(argv[1]) : 0);
}
