/* Children that sleep and exit while their parent sleeps too: the CPU goes idle
 * with an exiting thread on it and timer interrupts arrive meanwhile. Prints the
 * order-independent outcome, the same natively and in elfin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    int kids = argc > 2 ? atoi(argv[2]) : 4;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < kids; i++) {
            pid_t p = fork();
            if (p == 0) {
                /* The first one exits early; the CPU then idles for a long while
                 * (hundreds of timer ticks) before the others wake up. */
                sleep_ms(i == 0 ? 5 : 300 + 15 * i);
                _exit(10 + i);
            }
            if (p < 0) {
                printf("fork failed\n");
                return 1;
            }
        }
        sleep_ms(350 + 20 * kids);
        int sum = 0, n = 0, st;
        pid_t w;
        while ((w = wait(&st)) > 0) {
            n++;
            sum += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
        }
        printf("round %d: %d children reaped, status sum %d\n", r, n, sum);
    }
    return 0;
}
