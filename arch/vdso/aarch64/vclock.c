/* arm64 vDSO: the time functions from the virtual counter (CNTVCT_EL0, which
 * the kernel lets EL0 read through CNTKCTL_EL1.EL0VCTEN). */
#define NR_GETTIMEOFDAY 169
#define NR_CLOCK_GETTIME 113
#define NR_CLOCK_GETRES 114

#include "../vdso_data.h"

static inline u64 read_counter(void)
{
	u64 v;
	/* ISB keeps the read after the loads of the record, as the kernel's own read. */
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) :: "memory");
	return v;
}

static inline void smp_rmb(void)
{
	__asm__ __volatile__("dmb ishld" ::: "memory");
}

static inline long sys2(long nr, long a, long b)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	__asm__ __volatile__("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
	return x0;
}

#include "../vclock.h"

int __kernel_clock_gettime(int clock, struct timespec_k *ts)
{
	return do_clock_gettime(clock, ts);
}

int __kernel_gettimeofday(struct timeval_k *tv, struct timezone_k *tz)
{
	return do_gettimeofday(tv, tz);
}

int __kernel_clock_getres(int clock, struct timespec_k *res)
{
	return do_clock_getres(clock, res);
}
