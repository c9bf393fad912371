/* mm_stress [ROUNDS]: many mmap/munmap/mprotect/mremap/madvise/brk operations on
 * random ranges (a fixed xorshift sequence), checking that every page reads what
 * was last written to it. Prints a summary that does not depend on addresses.
 * Every frame it used must be free again after it exits (tests/guest_mm.rs). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"

#define P 4096UL
#define SLOTS 64
#define PAGES 64 /* the region each slot may use */

static uint64_t s = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* Expected first byte of every page of the arena (0 = unmapped or zero). */
static unsigned char want[SLOTS * PAGES];
static int mapped[SLOTS * PAGES];
static char *arena;

static void fail(const char *what, long i)
{
    printf("FAILED: %s at page %ld (errno %s)\n", what, i, errname(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 100000;
    arena = mmap(NULL, SLOTS * PAGES * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED)
        fail("reserve", 0);
    munmap(arena, SLOTS * PAGES * P);
    long ops[8] = {0}, checked = 0;
    char *b0 = (char *)syscall(SYS_brk, 0);
    for (long r = 0; r < rounds; r++) {
        long slot = rnd() % SLOTS;
        long first = slot * PAGES + rnd() % PAGES;
        long n = 1 + rnd() % 8;
        if (first % PAGES + n > PAGES)
            n = PAGES - first % PAGES;
        char *a = arena + first * P;
        int op = rnd() % 8;
        ops[op]++;
        switch (op) {
        case 0: case 1: /* map (replacing) and write */
            if (mmap(a, n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
                fail("mmap", first);
            for (long i = 0; i < n; i++) {
                unsigned char v = 1 + rnd() % 250;
                if (rnd() % 2) {
                    a[i * P] = v;
                    want[first + i] = v;
                } else {
                    want[first + i] = 0;
                }
                mapped[first + i] = 1;
            }
            break;
        case 2: /* partial unmap */
            if (munmap(a, n * P) != 0)
                fail("munmap", first);
            for (long i = 0; i < n; i++)
                mapped[first + i] = 0, want[first + i] = 0;
            break;
        case 3: { /* protect round trip on mapped pages */
            int all = 1;
            for (long i = 0; i < n; i++)
                all &= mapped[first + i];
            int prot = rnd() % 2 ? PROT_NONE : PROT_READ;
            int rc = mprotect(a, n * P, prot);
            if (all && rc != 0)
                fail("mprotect", first);
            rc = mprotect(a, n * P, PROT_READ | PROT_WRITE);
            if (all && rc != 0)
                fail("mprotect back", first);
            if (!all) {
                /* Linux changed the mapped prefix; make every mapped page rw again. */
                for (long i = 0; i < n; i++)
                    if (mapped[first + i])
                        mprotect(arena + (first + i) * P, P, PROT_READ | PROT_WRITE);
            }
            break;
        }
        case 4: /* discard */
            if (madvise(a, n * P, MADV_DONTNEED) == 0 || errno == ENOMEM)
                for (long i = 0; i < n; i++)
                    want[first + i] = 0;
            break;
        case 5: { /* move a fully mapped range to another free slot page range */
            int all = 1;
            for (long i = 0; i < n; i++)
                all &= mapped[first + i];
            long to = (rnd() % SLOTS) * PAGES + rnd() % (PAGES - n + 1);
            int overlap = to < first + n && first < to + n;
            if (!all || overlap)
                break;
            char *d = mremap(a, n * P, n * P, MREMAP_MAYMOVE | MREMAP_FIXED, arena + to * P);
            if (d != arena + to * P)
                fail("mremap", first);
            unsigned char tmp[8];
            for (long i = 0; i < n; i++)
                tmp[i] = want[first + i], mapped[first + i] = 0, want[first + i] = 0;
            for (long i = 0; i < n; i++)
                want[to + i] = tmp[i], mapped[to + i] = 1;
            break;
        }
        case 6: { /* brk up and down */
            long k = 1 + rnd() % 64;
            char *nb = (char *)syscall(SYS_brk, b0 + k * P);
            if (nb != b0 + k * P)
                fail("brk", k);
            nb[-1] = 1;
            syscall(SYS_brk, b0 + (rnd() % 4) * P);
            break;
        }
        default: /* verify a slot */
            for (long i = slot * PAGES; i < (slot + 1) * PAGES; i++) {
                if (!mapped[i])
                    continue;
                checked++;
                if ((unsigned char)arena[i * P] != want[i])
                    fail("data", i);
            }
        }
    }
    munmap(arena, SLOTS * PAGES * P);
    syscall(SYS_brk, b0);
    printf("rounds %ld: map %ld unmap %ld protect %ld discard %ld move %ld brk %ld verify %ld, %ld pages checked\n", rounds,
           ops[0] + ops[1], ops[2], ops[3], ops[4], ops[5], ops[6], ops[7], checked);
    return 0;
}
