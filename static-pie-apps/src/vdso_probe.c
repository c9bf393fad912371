/* vdso_probe: the vDSO as a program finds it, compared with the kernel.
 *
 *   vdso_probe            every check below
 *   vdso_probe addr       prints the vDSO's address (for the ASLR check)
 *   vdso_probe settime    sets the wall clock 1000 s ahead and back (clock_settime,
 *                         settimeofday) and checks that the vDSO follows: guest
 *                         only (it needs CAP_SYS_TIME and would set the host's clock)
 *   vdso_probe bench [N]  ns per clock_gettime(CLOCK_MONOTONIC) through the C
 *                         library, the vDSO function itself and the raw system
 *                         call (tests/bench/vdso.sh; under -icount shift=0 the
 *                         guest's ns are instructions)
 *
 * Finds the vDSO from AT_SYSINFO_EHDR, parses its ELF image (PT_DYNAMIC, the
 * dynamic symbol table with DT_HASH, DT_VERSYM/DT_VERDEF versions), prints the
 * names Linux exports with their versions ("sym" and "hash" lines: they differ
 * per architecture), calls each function directly and checks it against the raw
 * system call: the monotonic clocks never go backwards across 100000 mixed
 * calls, realtime lies between the system calls around it, a bad clock id is
 * -EINVAL and a CPU-time clock with a bad pointer -EFAULT (the fallback system
 * call), clock_getres agrees; sleeps, futex timeouts, timerfds and /proc/uptime
 * agree with it; /proc/self/maps shows [vdso] and [vvar]; a forked
 * child can call it; its address changes from one exec to the next. Prints only
 * deterministic facts, so the output is the same natively and in elfin. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int (*cg_fn)(long, struct timespec *);
typedef int (*gtod_fn)(void *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

struct ktv {
	long sec, usec;
};

static int failures;

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	failures++;
}

/* The names Linux's vDSO exports, x86_64 then arm64. */
static const char *const known[] = {
	"clock_gettime", "__vdso_clock_gettime", "gettimeofday", "__vdso_gettimeofday", "time", "__vdso_time",
	"getcpu", "__vdso_getcpu", "clock_getres", "__vdso_clock_getres", "__kernel_clock_gettime",
	"__kernel_gettimeofday", "__kernel_clock_getres", "__kernel_rt_sigreturn",
};

struct vdso {
	uintptr_t base, bias;
	const Elf64_Sym *sym;
	const char *str;
	const Elf64_Half *versym;
	const Elf64_Verdef *verdef;
	unsigned nsym;
	int has_hash, has_gnu_hash;
};

static const char *version_of(const struct vdso *v, unsigned i)
{
	if (!v->versym || !v->verdef)
		return NULL;
	unsigned ndx = v->versym[i] & 0x7fff;
	const Elf64_Verdef *d = v->verdef;
	for (;;) {
		if (d->vd_ndx == ndx && !(d->vd_flags & VER_FLG_BASE)) {
			const Elf64_Verdaux *a = (const void *)((const char *)d + d->vd_aux);
			return v->str + a->vda_name;
		}
		if (!d->vd_next)
			return NULL;
		d = (const void *)((const char *)d + d->vd_next);
	}
}

static int parse(struct vdso *v, uintptr_t base)
{
	const Elf64_Ehdr *eh = (const void *)base;
	memset(v, 0, sizeof *v);
	v->base = base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_DYN)
		return -1;
	const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	int load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load) {
			v->bias = base + ph[i].p_offset - ph[i].p_vaddr;
			load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const void *)(base + ph[i].p_offset);
		}
	}
	if (!load || !dyn)
		return -1;
	const Elf64_Word *hash = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = v->bias + dyn->d_un.d_ptr;
		switch (dyn->d_tag) {
		case DT_SYMTAB: v->sym = (const void *)p; break;
		case DT_STRTAB: v->str = (const void *)p; break;
		case DT_HASH: hash = (const void *)p; v->has_hash = 1; break;
		case DT_GNU_HASH: v->has_gnu_hash = 1; break;
		case DT_VERSYM: v->versym = (const void *)p; break;
		case DT_VERDEF: v->verdef = (const void *)p; break;
		}
	}
	if (!v->sym || !v->str || !hash)
		return -1;
	v->nsym = hash[1];
	return 0;
}

static void *lookup(const struct vdso *v, const char *name, const char *ver)
{
	for (unsigned i = 1; i < v->nsym; i++) {
		const Elf64_Sym *s = &v->sym[i];
		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC)
			continue;
		const char *sv = version_of(v, i);
		if (!strcmp(v->str + s->st_name, name) && sv && !strcmp(sv, ver))
			return (void *)(v->bias + s->st_value);
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_symbols(const struct vdso *v)
{
	char *lines[64];
	int n = 0;
	for (unsigned i = 1; i < v->nsym && n < 64; i++) {
		const Elf64_Sym *s = &v->sym[i];
		const char *name = v->str + s->st_name;
		int k = 0;
		for (unsigned j = 0; j < sizeof known / sizeof *known; j++)
			k |= !strcmp(known[j], name);
		if (!k || s->st_shndx == SHN_UNDEF)
			continue;
		const char *ver = version_of(v, i);
		if (asprintf(&lines[n], "sym %s@%s %s %s", name, ver ? ver : "(none)",
			     ELF64_ST_BIND(s->st_info) == STB_WEAK ? "weak" : "global",
			     ELF64_ST_TYPE(s->st_info) == STT_FUNC ? "func" : "other") > 0)
			n++;
	}
	qsort(lines, n, sizeof *lines, cmp_str);
	for (int i = 0; i < n; i++) {
		puts(lines[i]);
		free(lines[i]);
	}
}

static long long ns_of(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int sys_cg(long clock, struct timespec *t)
{
	return (int)syscall(SYS_clock_gettime, clock, t);
}

static void check_monotonic(cg_fn cg)
{
	static const long clocks[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};
	for (unsigned c = 0; c < 3; c++) {
		long long last = 0;
		int bad = 0;
		for (int i = 0; i < 100000; i++) {
			struct timespec t;
			int r = (i & 1) ? sys_cg(clocks[c], &t) : cg(clocks[c], &t);
			if (r != 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000 || ns_of(&t) < last)
				bad++;
			last = ns_of(&t);
		}
		printf("clock %ld: %s across 100000 mixed vDSO and system calls\n", clocks[c],
		       bad ? "WENT BACKWARDS or failed" : "never went backwards");
		if (bad)
			failures++;
	}
}

static void check_realtime(cg_fn cg, gtod_fn gtod, time_fn tm)
{
	struct timespec a, v, b;
	int bad = 0;
	for (int i = 0; i < 1000; i++) {
		sys_cg(CLOCK_REALTIME, &a);
		cg(CLOCK_REALTIME, &v);
		sys_cg(CLOCK_REALTIME, &b);
		bad += ns_of(&v) < ns_of(&a) || ns_of(&v) > ns_of(&b);
	}
	printf("clock_gettime(CLOCK_REALTIME): %s\n", bad ? "OUTSIDE the system calls around it" : "between the system calls around it");
	if (bad)
		failures++;
	if (gtod) {
		struct ktv tv, tv2;
		bad = 0;
		for (int i = 0; i < 1000; i++) {
			sys_cg(CLOCK_REALTIME, &a);
			int r = gtod(&tv, NULL);
			syscall(SYS_gettimeofday, &tv2, NULL);
			long long us = tv.sec * 1000000LL + tv.usec;
			bad += r != 0 || us < ns_of(&a) / 1000 || us > tv2.sec * 1000000LL + tv2.usec;
		}
		printf("gettimeofday: %s\n", bad ? "OUTSIDE the system calls around it" : "between the system calls around it");
		if (bad)
			failures++;
		int tz[2] = {-1, -1};
		if (gtod(NULL, tz) != 0)
			fail("gettimeofday(NULL, tz)");
	}
	if (tm) {
		long t0 = syscall(SYS_clock_gettime, CLOCK_REALTIME, &a) == 0 ? a.tv_sec : 0;
		long out = 0, r = tm(&out);
		sys_cg(CLOCK_REALTIME, &b);
		/* Linux's time() reads the wall clock of the last tick: up to a tick
		 * behind the one read before it. */
		int ok = r == out && r >= t0 - 1 && r <= b.tv_sec;
		printf("time: %s\n", ok ? "agrees with the system clock" : "DISAGREES");
		if (!ok)
			failures++;
	}
}

/* The kernel's other clocks (sleeps, timers, /proc/uptime) against the vDSO's:
 * never behind it, never ahead of it. */
static void check_kernel_clocks(cg_fn cg)
{
	struct timespec a, b, d = {0, 2000000};
	cg(CLOCK_MONOTONIC, &a);
	nanosleep(&d, NULL);
	cg(CLOCK_MONOTONIC, &b);
	printf("nanosleep(2 ms): %s\n", ns_of(&b) - ns_of(&a) >= 2000000 ? "the vDSO clock advanced at least 2 ms" : "the vDSO clock advanced LESS");
	cg(CLOCK_MONOTONIC, &a);
	syscall(SYS_futex, &d.tv_sec, 0 /* FUTEX_WAIT */, 0, &d, NULL, 0);
	cg(CLOCK_MONOTONIC, &b);
	printf("futex wait timeout (2 ms): %s\n", ns_of(&b) - ns_of(&a) >= 2000000 ? "the vDSO clock advanced at least 2 ms" : "the vDSO clock advanced LESS");
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	cg(CLOCK_MONOTONIC, &a);
	struct itimerspec its = {{0, 0}, {a.tv_sec, a.tv_nsec + 3000000}};
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	unsigned long long n = 0;
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	ssize_t r = read(fd, &n, sizeof n);
	cg(CLOCK_MONOTONIC, &b);
	close(fd);
	printf("timerfd at vDSO time + 3 ms: %s\n", r == 8 && ns_of(&b) >= ns_of(&its.it_value) ? "fired, the vDSO clock past it" : "WRONG");
	FILE *f = fopen("/proc/uptime", "r");
	double up = 0;
	cg(CLOCK_BOOTTIME, &a);
	int ok = f && fscanf(f, "%lf", &up) == 1;
	cg(CLOCK_BOOTTIME, &b);
	if (f)
		fclose(f);
	long long upns = (long long)(up * 1e9 + 0.5);
	/* /proc/uptime is in hundredths of seconds, rounded down. */
	printf("/proc/uptime: %s\n", ok && upns <= ns_of(&b) && upns + 10000000 >= ns_of(&a) ? "within 10 ms of the vDSO's CLOCK_BOOTTIME" : "DISAGREES with the vDSO's CLOCK_BOOTTIME");
}

static void check_errors(cg_fn cg)
{
	struct timespec t;
	printf("vDSO clock_gettime(-1): %d\n", cg(-1, &t));
	printf("vDSO clock_gettime(12345): %d\n", cg(12345, &t));
	printf("vDSO clock_gettime(CLOCK_PROCESS_CPUTIME_ID): %d\n", cg(CLOCK_PROCESS_CPUTIME_ID, &t));
	printf("vDSO clock_gettime(CLOCK_THREAD_CPUTIME_ID, bad pointer): %d\n",
	       cg(CLOCK_THREAD_CPUTIME_ID, (struct timespec *)8));
}

static void check_getres(cg_fn getres)
{
	static const long clocks[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, -1, 100};
	int same = 0, n = sizeof clocks / sizeof *clocks;
	for (int i = 0; i < n; i++) {
		struct timespec a = {-1, -1}, b = {-1, -1};
		int ra = getres(clocks[i], &a);
		int rb = (int)syscall(SYS_clock_getres, clocks[i], &b);
		if (rb < 0)
			rb = -errno;
		if (ra == rb && a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec)
			same++;
		else
			printf("clock_getres(%ld): vDSO %d {%ld, %ld}, system call %d {%ld, %ld}\n", clocks[i], ra,
			       (long)a.tv_sec, a.tv_nsec, rb, (long)b.tv_sec, b.tv_nsec);
	}
	printf("clock_getres: vDSO and system call agree for %d of %d clock ids\n", same, n);
	printf("vDSO clock_getres(CLOCK_MONOTONIC, NULL): %d\n", getres(CLOCK_MONOTONIC, NULL));
}

static void check_getcpu(getcpu_fn gc)
{
	unsigned cpu = 9999, node = 9999, scpu = 0, snode = 0;
	long r = gc(&cpu, &node, NULL);
	syscall(SYS_getcpu, &scpu, &snode, NULL);
	long n = sysconf(_SC_NPROCESSORS_CONF);
	printf("getcpu: %s\n", r == 0 && cpu < (unsigned)n && node == snode ? "a CPU of this machine, the node of the system call" : "WRONG");
	if (!(r == 0 && cpu < (unsigned)n && node == snode))
		failures++;
}

static void check_maps(uintptr_t base)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int vdso = 0, vvar = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long s, e;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
			continue;
		if (strstr(line, "[vdso]"))
			vdso = (s == base) + (perms[0] == 'r' && perms[2] == 'x' && perms[1] == '-') * 2;
		if (strstr(line, "[vvar]") && perms[1] == '-')
			vvar = 1;
	}
	if (f)
		fclose(f);
	printf("/proc/self/maps: [vdso] %s, %s; [vvar] %s\n", vdso & 1 ? "at AT_SYSINFO_EHDR" : "NOT at AT_SYSINFO_EHDR",
	       vdso & 2 ? "r-x" : "NOT r-x", vvar ? "read-only" : "MISSING");
}

static void check_fork(cg_fn cg)
{
	pid_t p = fork();
	if (p == 0) {
		struct timespec t;
		_exit(cg(CLOCK_MONOTONIC, &t) == 0 && cg(CLOCK_REALTIME, &t) == 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(p, &st, 0);
	printf("fork: the child %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "called the vDSO" : "FAILED");
	/* A child that unmaps the vDSO (or, where the kernel seals it, tries to)
	 * changes nothing for the parent. */
	p = fork();
	if (p == 0) {
		uintptr_t b = getauxval(AT_SYSINFO_EHDR);
		munmap((void *)b, 4096);
		_exit(0);
	}
	waitpid(p, &st, 0);
	struct timespec t;
	printf("after a child unmapped the vDSO, the parent's still works: %s\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 && cg(CLOCK_MONOTONIC, &t) == 0 ? "yes" : "NO");
}

static void check_aslr(uintptr_t base)
{
	int fd[2];
	if (pipe(fd) != 0)
		return;
	pid_t p = fork();
	if (p == 0) {
		dup2(fd[1], 1);
		execl("/proc/self/exe", "vdso_probe", "addr", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char buf[64] = {0};
	ssize_t n = read(fd[0], buf, sizeof buf - 1);
	close(fd[0]);
	waitpid(p, NULL, 0);
	unsigned long other = n > 0 ? strtoul(buf, NULL, 16) : 0;
	printf("ASLR: a new exec maps the vDSO %s\n",
	       other == 0 ? "NOT AT ALL" : other != base ? "at another address" : "at the SAME address");
}

static volatile sig_atomic_t got;
static void on_usr1(int s)
{
	got = s;
}

/* ns per call of `how` (0 the C library, 1 the vDSO function, 2 the system
 * call), the loop's own cost taken out with an empty run. */
static double bench(int how, cg_fn cg, long n)
{
	struct timespec a, b, t;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (how == 0)
			clock_gettime(CLOCK_MONOTONIC, &t);
		else if (how == 1)
			cg(CLOCK_MONOTONIC, &t);
		else if (how == 2)
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
		__asm__ __volatile__("" ::: "memory");
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(ns_of(&b) - ns_of(&a)) / (double)n;
}

int main(int argc, char **argv)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	if (argc > 1 && !strcmp(argv[1], "addr")) {
		printf("%lx\n", (unsigned long)base);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "settime")) {
		struct vdso v;
		if (!base || parse(&v, base) != 0)
			return 1;
		cg_fn cg = lookup(&v, "__vdso_clock_gettime", "LINUX_2.6");
		gtod_fn gtod = lookup(&v, "__vdso_gettimeofday", "LINUX_2.6");
		if (!cg) {
			cg = lookup(&v, "__kernel_clock_gettime", "LINUX_2.6.39");
			gtod = lookup(&v, "__kernel_gettimeofday", "LINUX_2.6.39");
		}
		struct timespec m0, m1, r0, r1, set;
		cg(CLOCK_MONOTONIC, &m0);
		cg(CLOCK_REALTIME, &r0);
		set = r0;
		set.tv_sec += 1000;
		int rc = (int)syscall(SYS_clock_settime, CLOCK_REALTIME, &set);
		cg(CLOCK_REALTIME, &r1);
		long long d = ns_of(&r1) - ns_of(&r0);
		printf("clock_settime(+1000 s): %d; the vDSO's realtime moved %s\n", rc,
		       d >= 1000000000000LL && d < 1001000000000LL ? "by 1000 s" : "WRONG");
		struct ktv tv = {r0.tv_sec, r0.tv_nsec / 1000}, now;
		rc = (int)syscall(SYS_settimeofday, &tv, NULL);
		gtod(&now, NULL);
		d = (now.sec - tv.sec) * 1000000LL + (now.usec - tv.usec);
		printf("settimeofday(back): %d; the vDSO's gettimeofday is %s\n", rc,
		       d >= 0 && d < 1000000 ? "back" : "WRONG");
		cg(CLOCK_MONOTONIC, &m1);
		printf("CLOCK_MONOTONIC: %s\n", ns_of(&m1) >= ns_of(&m0) && ns_of(&m1) - ns_of(&m0) < 1000000000LL ? "unmoved by either" : "MOVED");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		long n = argc > 2 ? atol(argv[2]) : 100000;
		struct vdso v;
		cg_fn cg = NULL;
		if (base && parse(&v, base) == 0) {
			cg = lookup(&v, "__vdso_clock_gettime", "LINUX_2.6");
			if (!cg)
				cg = lookup(&v, "__kernel_clock_gettime", "LINUX_2.6.39");
		}
		double empty = bench(3, cg, n);
		printf("libc %.1f\n", bench(0, cg, n) - empty);
		if (cg)
			printf("vdso %.1f\n", bench(1, cg, n) - empty);
		printf("syscall %.1f\n", bench(2, cg, n) - empty);
		return 0;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!base) {
		puts("AT_SYSINFO_EHDR: none");
		return 1;
	}
	struct vdso v;
	if (parse(&v, base) != 0) {
		puts("the vDSO's ELF image does not parse");
		return 1;
	}
	printf("AT_SYSINFO_EHDR: an ELF shared object; DT_VERSYM %s, DT_VERDEF %s\n", v.versym ? "yes" : "no",
	       v.verdef ? "yes" : "no");
	/* Per architecture: Linux links x86_64's with both tables, arm64's with DT_HASH. */
	printf("hash: DT_HASH %s, DT_GNU_HASH %s\n", v.has_hash ? "yes" : "no", v.has_gnu_hash ? "yes" : "no");
	print_symbols(&v);

	cg_fn cg = lookup(&v, "__vdso_clock_gettime", "LINUX_2.6");
	gtod_fn gtod = lookup(&v, "__vdso_gettimeofday", "LINUX_2.6");
	time_fn tm = lookup(&v, "__vdso_time", "LINUX_2.6");
	cg_fn getres = lookup(&v, "__vdso_clock_getres", "LINUX_2.6");
	getcpu_fn gc = lookup(&v, "__vdso_getcpu", "LINUX_2.6");
	if (!cg) {
		cg = lookup(&v, "__kernel_clock_gettime", "LINUX_2.6.39");
		gtod = lookup(&v, "__kernel_gettimeofday", "LINUX_2.6.39");
		getres = lookup(&v, "__kernel_clock_getres", "LINUX_2.6.39");
	}
	if (!cg || !gtod || !getres) {
		puts("clock_gettime, gettimeofday or clock_getres missing");
		return 1;
	}
	check_monotonic(cg);
	check_realtime(cg, gtod, tm);
	check_kernel_clocks(cg);
	check_errors(cg);
	check_getres(getres);
	if (gc)
		check_getcpu(gc);
	check_maps(base);
	check_fork(cg);
	check_aslr(base);

	/* A handler without SA_RESTORER (arm64's C libraries set none: it returns
	 * through the vDSO's __kernel_rt_sigreturn). */
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	printf("signal handler returned: %s\n", got == SIGUSR1 ? "yes" : "NO");
	printf("failures: %d\n== done\n", failures);
	return failures != 0;
}
