/* x86_64 vDSO: the time functions from the TSC, getcpu from TSC_AUX. */
#define NR_GETTIMEOFDAY 96
#define NR_TIME 201
#define NR_CLOCK_GETTIME 228
#define NR_CLOCK_GETRES 229
#define NR_GETCPU 309

#include "../vdso_data.h"

static inline u64 read_counter(void)
{
	u64 v;
	/* LFENCE keeps the read after the loads of the record (rdtsc_ordered). */
	__asm__ __volatile__("lfence; rdtsc; shl $32, %%rdx; or %%rdx, %%rax" : "=a"(v) :: "rdx", "memory");
	return v;
}

static inline void smp_rmb(void)
{
	barrier();
}

static inline long sys2(long nr, long a, long b)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

#include "../vclock.h"

int __vdso_clock_gettime(int clock, struct timespec_k *ts)
{
	return do_clock_gettime(clock, ts);
}
int clock_gettime(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_gettime")));

int __vdso_gettimeofday(struct timeval_k *tv, struct timezone_k *tz)
{
	return do_gettimeofday(tv, tz);
}
int gettimeofday(struct timeval_k *, struct timezone_k *) __attribute__((weak, alias("__vdso_gettimeofday")));

long __vdso_time(long *t)
{
	u64 ns;
	long s;
	if (do_hres(&vvar_page, CLOCK_REALTIME, &ns) != 0)
		return sys2(NR_TIME, (long)t, 0);
	s = (long)(ns / NSEC_PER_SEC);
	if (t)
		*t = s;
	return s;
}
long time(long *) __attribute__((weak, alias("__vdso_time")));

int __vdso_clock_getres(int clock, struct timespec_k *res)
{
	return do_clock_getres(clock, res);
}
int clock_getres(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_getres")));

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	u32 mode = READ_ONCE(vvar_page.cpu_mode);
	unsigned long p;
	if (mode == 2) {
		__asm__ __volatile__("rdpid %0" : "=r"(p));
	} else if (mode == 1) {
		u32 lo, hi, aux;
		__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
		p = aux;
	} else {
		return sys3(NR_GETCPU, (long)cpu, (long)node, (long)cache);
	}
	if (cpu)
		*cpu = (unsigned)(p & 0xfff);
	if (node)
		*node = (unsigned)(p >> 12);
	return 0;
}
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
