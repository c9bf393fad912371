/* The time functions, shared by both architectures (each arch's vclock.c
 * defines read_counter, smp_rmb, sys2 and the syscall numbers first). */
#include "vdso_data.h"

static inline void ns_to_ts(u64 ns, struct timespec_k *ts)
{
	ts->tv_sec = (long)(ns / NSEC_PER_SEC);
	ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
}

static inline u32 clock_bit(int clock)
{
	return (unsigned)clock < 32 ? 1u << clock : 0;
}

static int do_clock_gettime(int clock, struct timespec_k *ts)
{
	u64 ns;
	if (do_hres(&vvar_page, clock, &ns) == 0) {
		ns_to_ts(ns, ts);
		return 0;
	}
	return (int)sys2(NR_CLOCK_GETTIME, clock, (long)ts);
}

static int do_gettimeofday(struct timeval_k *tv, struct timezone_k *tz)
{
	u64 ns;
	if (tv) {
		if (do_hres(&vvar_page, CLOCK_REALTIME, &ns) != 0)
			return (int)sys2(NR_GETTIMEOFDAY, (long)tv, (long)tz);
		tv->tv_sec = (long)(ns / NSEC_PER_SEC);
		tv->tv_usec = (long)(ns % NSEC_PER_SEC / 1000);
	}
	if (tz) {
		/* The kernel keeps no time zone: it reports 0, 0. */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

static int do_clock_getres(int clock, struct timespec_k *res)
{
	u32 bit = clock_bit(clock);
	if (!(bit & (REAL_CLOCKS | MONO_CLOCKS)))
		return (int)sys2(NR_CLOCK_GETRES, clock, (long)res);
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = (long)((bit & COARSE_CLOCKS) ? READ_ONCE(vvar_page.coarse_res) : 1);
	}
	return 0;
}
