/* The record the kernel publishes in the [vvar] page (kernel/src/vdso.rs
 * writes it; the layout is the same on both architectures). */
#ifndef ELFIN_VDSO_DATA_H
#define ELFIN_VDSO_DATA_H

typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned __int128 u128;

/* Clock ids below this have an entry in `offset` (CLOCK_TAI is 11). */
#define VDSO_NCLOCKS 12
/* An `offset` entry for a clock this record does not answer. */
#define VDSO_NO_CLOCK (~0UL)

struct vdso_data {
	u32 seq;          /* odd while the kernel rewrites the record */
	u32 clock_mode;   /* 0: use the system calls; 1: the counter is readable here */
	u64 cycle_base;   /* counter value at monotonic time 0 */
	u64 mult;         /* ns = ((counter - cycle_base) * mult) >> VDSO_SHIFT */
	u32 shift;        /* VDSO_SHIFT (for readers that want to check) */
	u32 cpu_mode;     /* getcpu: 0 system call, 1 RDTSCP, 2 RDPID (TSC_AUX = cpu) */
	u64 wall_base;    /* realtime ns at monotonic time 0 */
	u32 clocks;       /* bit n set: clock id n is answered here (0 with clock_mode 0;
			   * no realtime clocks while the kernel has not read the wall clock) */
	u32 pad;
	u64 coarse_res;   /* resolution of the coarse clocks, ns */
	u64 offset[VDSO_NCLOCKS]; /* clock id n: ns added to the monotonic time
				   * (wall_base for the realtime clocks, else 0), or
				   * VDSO_NO_CLOCK: the system call answers */
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11

/* Clocks answered here: the others go to the system call. */
#define REAL_CLOCKS ((1u << CLOCK_REALTIME) | (1u << CLOCK_REALTIME_COARSE) | (1u << CLOCK_TAI))
#define MONO_CLOCKS ((1u << CLOCK_MONOTONIC) | (1u << CLOCK_MONOTONIC_RAW) | \
		     (1u << CLOCK_MONOTONIC_COARSE) | (1u << CLOCK_BOOTTIME))
#define COARSE_CLOCKS ((1u << CLOCK_REALTIME_COARSE) | (1u << CLOCK_MONOTONIC_COARSE))

/* The fixed shift of the cycle-to-ns conversion (kernel/src/time.rs SHIFT). */
#define VDSO_SHIFT 32

#define NSEC_PER_SEC 1000000000UL

struct timespec_k { long tv_sec; long tv_nsec; };
struct timeval_k { long tv_sec; long tv_usec; };
struct timezone_k { int tz_minuteswest; int tz_dsttime; };

#define barrier() __asm__ __volatile__("" ::: "memory")
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* Provided per architecture before including vclock.h. */
static inline u64 read_counter(void);
static inline void smp_rmb(void);
static inline long sys2(long nr, long a, long b);

/* The vvar page, one page below the vDSO's ELF header (vdso.lds). */
extern struct vdso_data vvar_page __attribute__((visibility("hidden")));

/* The nanoseconds of clock `clock` (the kernel's formula); -1 when the record
 * says the system call must answer. */
static inline int do_hres(struct vdso_data *d, int clock, u64 *ns)
{
	u32 seq;
	u64 c, base, mult, off, delta;
	const u64 *offp;
	if ((unsigned)clock >= VDSO_NCLOCKS)
		return -1;
	offp = &d->offset[(unsigned)clock];
	do {
		seq = READ_ONCE(d->seq);
		if (__builtin_expect(seq & 1, 0)) {
			barrier();
			continue;
		}
		smp_rmb();
		/* The counter after the sequence number (read_counter orders it),
		 * the parameters after both (read_counter is a compiler barrier). */
		c = read_counter();
		off = READ_ONCE(*offp);
		if (off == VDSO_NO_CLOCK)
			return -1;
		base = READ_ONCE(d->cycle_base);
		mult = READ_ONCE(d->mult);
		smp_rmb();
	} while (__builtin_expect(seq & 1, 0) || READ_ONCE(d->seq) != seq);
	/* A counter behind the base (another CPU's, not quite in step) reads as
	 * time 0 rather than far in the future. */
	if (__builtin_sub_overflow(c, base, &delta))
		delta = 0;
	*ns = (u64)(((u128)delta * mult) >> VDSO_SHIFT) + off;
	return 0;
}

#endif
