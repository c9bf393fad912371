/* arch.h: the per-architecture pieces of the fuzzer, in inline and global asm:
 *  - rsys(): a raw system call (no errno, no TLS: helper threads have none);
 *  - clone_exit(), clone3_exit(), fork_exit(): clone-family calls whose child
 *    exits at once, so fuzzed flags, stacks and TLS values cannot run our code;
 *  - spawn(): a raw thread running fn(arg) on its own stack, then exit(2);
 *  - fz_restorer: the signal restorer (rt_sigreturn);
 *  - fz_forged_sigreturn(sp): rt_sigreturn on a forged frame at sp;
 *  - fz_exec(code, regs): jump to a code snippet with given registers;
 *  - fz_landing: where a forged context or a snippet may come back to: it
 *    switches to a known stack and calls fz_landing_c() (which never returns);
 *  - the kernel-half, non-canonical and special addresses of the arch;
 *  - the instruction snippets of the "insn" pseudo-call.
 * Everything here is free of TLS and of the stack protector. */
#ifndef FUZZ_ARCH_H
#define FUZZ_ARCH_H
#include <stdint.h>

extern void fz_restorer(void);
extern void fz_landing(void);
extern void fz_forged_sigreturn(void *sp) __attribute__((noreturn));
extern void fz_exec(void *code, const uint64_t *regs) __attribute__((noreturn));
/* Stack pointer that fz_landing switches to (16-byte aligned). */
extern uint64_t fz_landing_sp;
/* Called by fz_landing on the known stack. */
void fz_landing_c(void) __attribute__((noreturn, used));

#if defined(__x86_64__)
#define ARCH_NAME "x86_64"
#define NR_EXIT 60

static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* clone(flags, stack, ptid, ctid, tls); the child calls exit(0) at once. */
static inline long clone_exit(long flags, long stack, long ptid, long ctid, long tls)
{
    register long r10 __asm__("r10") = ctid;
    register long r8 __asm__("r8") = tls;
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(56L), "D"(flags), "S"(stack), "d"(ptid), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

/* clone3(args, size); the child calls exit(0) at once. */
static inline long clone3_exit(long args, long size)
{
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(435L), "D"(args), "S"(size)
                     : "rcx", "r11", "memory");
    return ret;
}

/* fork() or vfork() (by number); the child calls exit(0) at once. */
static inline long fork_exit(long nr)
{
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(nr)
                     : "rcx", "r11", "memory");
    return ret;
}

/* A thread on `stack_top` (16-byte aligned, two words below are used) running
 * fn(arg), then exit(fn's result). */
static inline long spawn(long flags, uint64_t stack_top, long ptid, long ctid, long tls, long (*fn)(void *), void *arg)
{
    uint64_t *sp = (uint64_t *)(stack_top - 16);
    sp[0] = (uint64_t)fn;
    sp[1] = (uint64_t)arg;
    register long r10 __asm__("r10") = ctid;
    register long r8 __asm__("r8") = tls;
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "pop %%rax\n\t"
                     "pop %%rdi\n\t"
                     "and $-16, %%rsp\n\t"
                     "call *%%rax\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov $60, %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(56L), "D"(flags), "S"((long)sp), "d"(ptid), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

__asm__(".text\n"
        ".globl fz_restorer\n"
        "fz_restorer:\n"
        "  mov $15, %eax\n"
        "  syscall\n"
        "  ud2\n"
        ".globl fz_forged_sigreturn\n"
        "fz_forged_sigreturn:\n"
        "  mov %rdi, %rsp\n"
        "  mov $15, %eax\n"
        "  syscall\n"
        "  ud2\n"
        ".globl fz_exec\n"
        "fz_exec:\n"
        "  mov %rdi, %r11\n"
        /* A `ret` in the code (or the vsyscall page's emulation) lands here. */
        "  lea fz_landing(%rip), %rax\n"
        "  push %rax\n"
        "  mov 0(%rsi), %rax\n"
        "  mov 8(%rsi), %rbx\n"
        "  mov 16(%rsi), %rcx\n"
        "  mov 24(%rsi), %rdx\n"
        "  mov 40(%rsi), %rdi\n"
        "  mov 48(%rsi), %rbp\n"
        "  mov 56(%rsi), %r8\n"
        "  mov 64(%rsi), %r9\n"
        "  mov 72(%rsi), %r10\n"
        "  mov 80(%rsi), %r12\n"
        "  mov 88(%rsi), %r13\n"
        "  mov 96(%rsi), %r14\n"
        "  mov 104(%rsi), %r15\n"
        "  mov 32(%rsi), %rsi\n"
        "  jmp *%r11\n"
        ".globl fz_landing\n"
        "fz_landing:\n"
        "  mov fz_landing_sp(%rip), %rsp\n"
        "  pushq $0x202\n"
        "  popfq\n"
        "  cld\n"
        "  call fz_landing_c\n"
        "  ud2\n");

/* Addresses no user pointer may reach: the direct map, the kernel image, the
 * non-canonical hole, the vsyscall page, the last user page. */
static const uint64_t KERNEL_ADDRS[] = {
    0xffff800000000000ULL, 0xffff800000001000ULL, 0xffff888000000000ULL, 0xffffffff80000000ULL,
    0xffffffff80100000ULL, 0xffffffffff600000ULL, 0xfffffffffffff000ULL, 0xffffffffffffffffULL,
};
static const uint64_t NONCANON_ADDRS[] = {
    0x0000800000000000ULL, 0x00007ffffffffff8ULL, 0x0000800000001000ULL,
    0x8000000000000000ULL, 0xdead000000000000ULL, 0x00ff000000000000ULL,
};
/* Just below the top of the user half. */
#define USER_TOP 0x00007ffffffff000ULL
/* End of the user half (exclusive). */
#define USER_LIMIT (1ULL << 47)

/* Instruction snippets of the "insn" pseudo-call. After the snippet the code
 * jumps back to fz_landing. `regs` sets rax..r15 as fz_exec loads them; a
 * snippet names which registers it wants set to what (see fuzz.c). */
struct snippet {
    const char *name;
    unsigned char len;
    unsigned char code[24];
    /* How to set the registers: see snippet_regs() in fuzz.c. */
    unsigned char regs;
};
enum { SR_NONE, SR_KERNEL_PTR, SR_NONCANON_PTR, SR_MISALIGNED_PTR, SR_SYSCALL_SAFE, SR_ZERO_DIV, SR_SELECTOR,
       SR_IRET, SR_FLAGS, SR_PORT, SR_RANDOM };
static const struct snippet SNIPPETS[] = {
    {"int3", 1, {0xcc}, SR_NONE},
    {"int 0x80", 2, {0xcd, 0x80}, SR_SYSCALL_SAFE},
    {"int 0x01", 2, {0xcd, 0x01}, SR_NONE},
    {"int 0x02", 2, {0xcd, 0x02}, SR_NONE},
    {"int 0x03 (long form)", 2, {0xcd, 0x03}, SR_NONE},
    {"int 0x04", 2, {0xcd, 0x04}, SR_NONE},
    {"int 0x08", 2, {0xcd, 0x08}, SR_NONE},
    {"int 0x0d", 2, {0xcd, 0x0d}, SR_NONE},
    {"int 0x0e", 2, {0xcd, 0x0e}, SR_NONE},
    {"int 0x12", 2, {0xcd, 0x12}, SR_NONE},
    {"int 0x20", 2, {0xcd, 0x20}, SR_NONE},
    {"int 0x2f", 2, {0xcd, 0x2f}, SR_NONE},
    {"int 0xff", 2, {0xcd, 0xff}, SR_NONE},
    {"icebp", 1, {0xf1}, SR_NONE},
    {"into", 1, {0xce}, SR_NONE},
    {"ud2", 2, {0x0f, 0x0b}, SR_NONE},
    {"ud1", 3, {0x0f, 0xb9, 0xc0}, SR_NONE},
    {"hlt", 1, {0xf4}, SR_NONE},
    {"cli", 1, {0xfa}, SR_NONE},
    {"sti", 1, {0xfb}, SR_NONE},
    {"in al,dx", 1, {0xec}, SR_PORT},
    {"out dx,al", 1, {0xee}, SR_PORT},
    {"insb", 1, {0x6c}, SR_PORT},
    {"rdmsr", 2, {0x0f, 0x32}, SR_RANDOM},
    {"wrmsr", 2, {0x0f, 0x30}, SR_RANDOM},
    {"rdpmc", 2, {0x0f, 0x33}, SR_RANDOM},
    {"rdtsc", 2, {0x0f, 0x31}, SR_NONE},
    {"rdtscp", 3, {0x0f, 0x01, 0xf9}, SR_NONE},
    {"cpuid", 2, {0x0f, 0xa2}, SR_RANDOM},
    {"mov cr0,rax", 3, {0x0f, 0x22, 0xc0}, SR_RANDOM},
    {"mov rax,cr3", 3, {0x0f, 0x20, 0xd8}, SR_NONE},
    {"mov dr7,rax", 3, {0x0f, 0x23, 0xf8}, SR_RANDOM},
    {"lgdt [rcx]", 3, {0x0f, 0x01, 0x11}, SR_KERNEL_PTR},
    {"lidt [rcx]", 3, {0x0f, 0x01, 0x19}, SR_KERNEL_PTR},
    {"sgdt [rsp-16]", 5, {0x0f, 0x01, 0x44, 0x24, 0xf0}, SR_NONE},
    {"sidt [rsp-16]", 5, {0x0f, 0x01, 0x4c, 0x24, 0xf0}, SR_NONE},
    {"sldt ax", 3, {0x0f, 0x00, 0xc0}, SR_NONE},
    {"str ax", 3, {0x0f, 0x00, 0xc8}, SR_NONE},
    {"smsw ax", 3, {0x0f, 0x01, 0xe0}, SR_NONE},
    {"ltr ax", 3, {0x0f, 0x00, 0xd8}, SR_SELECTOR},
    {"invlpg [rcx]", 3, {0x0f, 0x01, 0x39}, SR_KERNEL_PTR},
    {"wbinvd", 2, {0x0f, 0x09}, SR_NONE},
    {"clts", 2, {0x0f, 0x06}, SR_NONE},
    {"swapgs", 3, {0x0f, 0x01, 0xf8}, SR_NONE},
    {"sysret", 3, {0x48, 0x0f, 0x07}, SR_RANDOM},
    {"sysenter", 2, {0x0f, 0x34}, SR_RANDOM},
    {"sysexit", 3, {0x48, 0x0f, 0x35}, SR_RANDOM},
    {"vmcall", 3, {0x0f, 0x01, 0xc1}, SR_NONE},
    {"vmmcall", 3, {0x0f, 0x01, 0xd9}, SR_NONE},
    {"monitor", 3, {0x0f, 0x01, 0xc8}, SR_NONE},
    {"mwait", 3, {0x0f, 0x01, 0xc9}, SR_NONE},
    {"clac", 3, {0x0f, 0x01, 0xca}, SR_NONE},
    {"stac", 3, {0x0f, 0x01, 0xcb}, SR_NONE},
    {"xsetbv", 3, {0x0f, 0x01, 0xd1}, SR_RANDOM},
    {"xgetbv ecx=rand", 3, {0x0f, 0x01, 0xd0}, SR_RANDOM},
    {"rdrand eax", 3, {0x0f, 0xc7, 0xf0}, SR_NONE},
    {"rdpid rax", 4, {0xf3, 0x0f, 0xc7, 0xf8}, SR_NONE},
    {"wrfsbase rcx", 5, {0xf3, 0x48, 0x0f, 0xae, 0xd1}, SR_KERNEL_PTR},
    {"wrgsbase rcx", 5, {0xf3, 0x48, 0x0f, 0xae, 0xd9}, SR_KERNEL_PTR},
    {"rdgsbase rax", 5, {0xf3, 0x48, 0x0f, 0xae, 0xc8}, SR_NONE},
    {"mov fs,ax", 2, {0x8e, 0xe0}, SR_SELECTOR},
    {"mov gs,ax ; syscall(getpid)", 7, {0x8e, 0xe8, 0x48, 0x89, 0xd8, 0x0f, 0x05}, SR_SELECTOR},
    {"mov ss,ax", 2, {0x8e, 0xd0}, SR_SELECTOR},
    {"mov ds,ax ; syscall(getpid)", 7, {0x8e, 0xd8, 0x48, 0x89, 0xd8, 0x0f, 0x05}, SR_SELECTOR},
    {"lret to rsi:rax", 4, {0x56, 0x50, 0x48, 0xcb}, SR_IRET},
    {"iretq frame ss=rbx rsp=rcx fl=rdx cs=rsi ip=rax", 7, {0x53, 0x51, 0x52, 0x56, 0x50, 0x48, 0xcf}, SR_IRET},
    {"popf rdx ; nop", 3, {0x52, 0x9d, 0x90}, SR_FLAGS},
    {"popf rdx ; syscall(getpid)", 7, {0x52, 0x9d, 0x48, 0x89, 0xd8, 0x0f, 0x05}, SR_FLAGS},
    {"popf rdx ; int3", 3, {0x52, 0x9d, 0xcc}, SR_FLAGS},
    {"popf rdx ; misaligned load", 6, {0x52, 0x9d, 0x48, 0x8b, 0x41, 0x01}, SR_FLAGS},
    {"div rcx (0)", 3, {0x48, 0xf7, 0xf1}, SR_ZERO_DIV},
    {"idiv rcx (INT64_MIN/-1)", 3, {0x48, 0xf7, 0xf9}, SR_ZERO_DIV},
    {"fxrstor [rcx]", 3, {0x0f, 0xae, 0x09}, SR_MISALIGNED_PTR},
    {"xrstor [rcx]", 3, {0x0f, 0xae, 0x29}, SR_MISALIGNED_PTR},
    {"ldmxcsr [rcx]", 3, {0x0f, 0xae, 0x11}, SR_MISALIGNED_PTR},
    {"store to [rcx]", 3, {0x48, 0x89, 0x01}, SR_KERNEL_PTR},
    {"load from [rcx]", 3, {0x48, 0x8b, 0x01}, SR_KERNEL_PTR},
    {"jmp rcx", 2, {0xff, 0xe1}, SR_KERNEL_PTR},
    {"jmp rcx (non-canonical)", 2, {0xff, 0xe1}, SR_NONCANON_PTR},
    {"load non-canonical [rcx]", 3, {0x48, 0x8b, 0x01}, SR_NONCANON_PTR},
    {"rsp=rcx ; push", 4, {0x48, 0x89, 0xcc, 0x50}, SR_KERNEL_PTR},
    {"rsp=rcx ; push (non-canonical)", 4, {0x48, 0x89, 0xcc, 0x50}, SR_NONCANON_PTR},
    {"rsp=rcx ; syscall(getpid)", 6, {0x48, 0x89, 0xcc, 0x0f, 0x05, 0x90}, SR_SYSCALL_SAFE},
    {"rsp=rcx ; int3", 4, {0x48, 0x89, 0xcc, 0xcc}, SR_KERNEL_PTR},
    {"rsp=rcx ; ud2", 5, {0x48, 0x89, 0xcc, 0x0f, 0x0b}, SR_MISALIGNED_PTR},
    {"syscall (rax=unknown)", 2, {0x0f, 0x05}, SR_SYSCALL_SAFE},
    {"random bytes", 0, {0}, SR_RANDOM},
};

#elif defined(__aarch64__)
#define ARCH_NAME "aarch64"
#define NR_EXIT 93

static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}

/* clone(flags, stack, ptid, tls, ctid) (arm64 order); the child exits at once. */
static inline long clone_exit(long flags, long stack, long ptid, long ctid, long tls)
{
    register long x8 __asm__("x8") = 220;
    register long x0 __asm__("x0") = flags;
    register long x1 __asm__("x1") = stack;
    register long x2 __asm__("x2") = ptid;
    register long x3 __asm__("x3") = tls;
    register long x4 __asm__("x4") = ctid;
    __asm__ volatile("svc #0\n\t"
                     "cbnz x0, 1f\n\t"
                     "mov x8, #93\n\t"
                     "mov x0, #0\n\t"
                     "svc #0\n\t"
                     "udf #0\n"
                     "1:"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory");
    return x0;
}

static inline long clone3_exit(long args, long size)
{
    register long x8 __asm__("x8") = 435;
    register long x0 __asm__("x0") = args;
    register long x1 __asm__("x1") = size;
    __asm__ volatile("svc #0\n\t"
                     "cbnz x0, 1f\n\t"
                     "mov x8, #93\n\t"
                     "mov x0, #0\n\t"
                     "svc #0\n\t"
                     "udf #0\n"
                     "1:"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1)
                     : "memory");
    return x0;
}

static inline long fork_exit(long nr)
{
    (void)nr;
    return -38; /* arm64 has no fork or vfork */
}

static inline long spawn(long flags, uint64_t stack_top, long ptid, long ctid, long tls, long (*fn)(void *), void *arg)
{
    uint64_t *sp = (uint64_t *)(stack_top - 16);
    sp[0] = (uint64_t)fn;
    sp[1] = (uint64_t)arg;
    register long x8 __asm__("x8") = 220;
    register long x0 __asm__("x0") = flags;
    register long x1 __asm__("x1") = (long)sp;
    register long x2 __asm__("x2") = ptid;
    register long x3 __asm__("x3") = tls;
    register long x4 __asm__("x4") = ctid;
    __asm__ volatile("svc #0\n\t"
                     "cbnz x0, 1f\n\t"
                     "mov x29, #0\n\t"
                     "ldp x9, x0, [sp], #16\n\t"
                     "blr x9\n\t"
                     "mov x8, #93\n\t"
                     "svc #0\n\t"
                     "udf #0\n"
                     "1:"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory", "x9", "x30");
    return x0;
}

__asm__(".text\n"
        ".globl fz_restorer\n"
        "fz_restorer:\n"
        "  mov x8, #139\n"
        "  svc #0\n"
        "  udf #0\n"
        ".globl fz_forged_sigreturn\n"
        "fz_forged_sigreturn:\n"
        "  mov sp, x0\n"
        "  mov x8, #139\n"
        "  svc #0\n"
        "  udf #0\n"
        ".globl fz_exec\n"
        "fz_exec:\n"
        "  mov x16, x0\n"
        "  mov x17, x1\n"
        "  ldp x0, x1, [x17, #0]\n"
        "  ldp x2, x3, [x17, #16]\n"
        "  ldp x4, x5, [x17, #32]\n"
        "  ldp x6, x7, [x17, #48]\n"
        "  ldp x8, x9, [x17, #64]\n"
        "  ldp x10, x11, [x17, #80]\n"
        "  ldp x12, x13, [x17, #96]\n"
        /* A `ret` in the code lands here. */
        "  adrp x30, fz_landing\n"
        "  add x30, x30, :lo12:fz_landing\n"
        "  br x16\n"
        ".globl fz_landing\n"
        "fz_landing:\n"
        "  adrp x16, fz_landing_sp\n"
        "  ldr x16, [x16, :lo12:fz_landing_sp]\n"
        "  mov sp, x16\n"
        "  mov x29, #0\n"
        "  bl fz_landing_c\n"
        "  udf #0\n");

/* The direct map (PHYS_OFFSET), the kernel image, the device window, the top. */
static const uint64_t KERNEL_ADDRS[] = {
    0xffff000000000000ULL, 0xffff000000001000ULL, 0xffff000040000000ULL, 0xffff800000000000ULL,
    0xfffffe0000000000ULL, 0xffffffff80000000ULL, 0xffffffff80100000ULL, 0xffffffffffffffffULL,
};
/* Outside both halves of a 48-bit VA space, and tagged pointers (no TBI for
 * syscalls: Linux takes tagged pointers only with PR_SET_TAGGED_ADDR_CTRL). */
static const uint64_t NONCANON_ADDRS[] = {
    0x0001000000000000ULL, 0x0000fffffffffff8ULL, 0x8000000000000000ULL,
    0x0f00000000001000ULL, 0xdead000000000000ULL, 0x00ff000000000000ULL,
};
/* elfin maps its signal trampoline page at 0xfffffffff000 (the last user page). */
#define USER_TOP 0x0000fffffffff000ULL
/* End of the user half (exclusive): 48-bit VA. */
#define USER_LIMIT (1ULL << 48)

struct snippet {
    const char *name;
    unsigned char len; /* in 32-bit words */
    uint32_t code[6];
    unsigned char regs;
};
enum { SR_NONE, SR_KERNEL_PTR, SR_NONCANON_PTR, SR_MISALIGNED_PTR, SR_SYSCALL_SAFE, SR_ZERO_DIV, SR_SELECTOR,
       SR_IRET, SR_FLAGS, SR_PORT, SR_RANDOM };
static const struct snippet SNIPPETS[] = {
    {"brk #0", 1, {0xd4200000}, SR_NONE},
    {"brk #0xf000", 1, {0xd43e0000}, SR_NONE},
    {"udf #0", 1, {0x00000000}, SR_NONE},
    {"hvc #0", 1, {0xd4000002}, SR_NONE},
    {"smc #0", 1, {0xd4000003}, SR_NONE},
    {"hlt #0", 1, {0xd4400000}, SR_NONE},
    {"svc #1 (x8=unknown)", 1, {0xd4000021}, SR_SYSCALL_SAFE},
    {"svc #0 (x8=unknown)", 1, {0xd4000001}, SR_SYSCALL_SAFE},
    {"mrs x0, sctlr_el1", 1, {0xd5381000}, SR_NONE},
    {"msr sctlr_el1, x0", 1, {0xd5181000}, SR_RANDOM},
    {"mrs x0, currentel", 1, {0xd5384240}, SR_NONE},
    {"msr daifset, #0xf", 1, {0xd50343df}, SR_NONE},
    {"msr daif, x0", 1, {0xd51b4220}, SR_RANDOM},
    {"mrs x0, daif", 1, {0xd53b4220}, SR_NONE},
    {"mrs x0, ctr_el0", 1, {0xd53b0020}, SR_NONE},
    {"mrs x0, cntvct_el0", 1, {0xd53be040}, SR_NONE},
    {"mrs x0, cntpct_el0", 1, {0xd53be020}, SR_NONE},
    {"mrs x0, midr_el1", 1, {0xd5380000}, SR_NONE},
    {"mrs x0, id_aa64pfr0_el1", 1, {0xd5380400}, SR_NONE},
    {"mrs x0, tpidr_el1", 1, {0xd538d080}, SR_NONE},
    {"mrs x0, vbar_el1", 1, {0xd538c000}, SR_NONE},
    {"msr vbar_el1, x0", 1, {0xd518c000}, SR_KERNEL_PTR},
    {"msr ttbr0_el1, x0", 1, {0xd5182000}, SR_RANDOM},
    {"mrs x0, cntkctl_el1", 1, {0xd538e100}, SR_NONE},
    {"msr cntv_ctl_el0, x0", 1, {0xd51be320}, SR_RANDOM},
    {"msr cntp_ctl_el0, x0", 1, {0xd51be220}, SR_RANDOM},
    {"msr spsel, #1", 1, {0xd50041bf}, SR_NONE},
    {"msr pan, #1", 1, {0xd500419f}, SR_NONE},
    {"msr fpcr, x0", 1, {0xd51b4400}, SR_RANDOM},
    {"msr fpsr, x0", 1, {0xd51b4420}, SR_RANDOM},
    {"dc zva, x0", 1, {0xd50b7420}, SR_KERNEL_PTR},
    {"dc civac, x0", 1, {0xd50b7e20}, SR_KERNEL_PTR},
    {"dc ivac, x0", 1, {0xd5087620}, SR_KERNEL_PTR},
    {"ic ivau, x0", 1, {0xd50b7520}, SR_KERNEL_PTR},
    {"ic iallu", 1, {0xd508751f}, SR_NONE},
    {"tlbi vmalle1", 1, {0xd508871f}, SR_NONE},
    {"at s1e1r, x0", 1, {0xd5087800}, SR_KERNEL_PTR},
    {"wfi", 1, {0xd503207f}, SR_NONE},
    {"wfe", 1, {0xd503205f}, SR_NONE},
    {"eret", 1, {0xd69f03e0}, SR_NONE},
    {"ldr x0, [x0]", 1, {0xf9400000}, SR_KERNEL_PTR},
    {"str x1, [x0]", 1, {0xf9000001}, SR_KERNEL_PTR},
    {"ldr x0, [x0] (non-canonical)", 1, {0xf9400000}, SR_NONCANON_PTR},
    {"ldxr x1, [x0] (misaligned)", 1, {0xc85f7c01}, SR_MISALIGNED_PTR},
    {"ldar x1, [x0] (misaligned)", 1, {0xc8dffc01}, SR_MISALIGNED_PTR},
    {"casal x1, x2, [x0] (misaligned)", 1, {0xc8e1fc02}, SR_MISALIGNED_PTR},
    {"br x0", 1, {0xd61f0000}, SR_KERNEL_PTR},
    {"br x0 (misaligned pc)", 1, {0xd61f0000}, SR_MISALIGNED_PTR},
    {"br x0 (non-canonical)", 1, {0xd61f0000}, SR_NONCANON_PTR},
    {"mov sp, x0 ; ldr x1, [sp]", 2, {0x9100001f, 0xf94003e1}, SR_MISALIGNED_PTR},
    {"mov sp, x0 ; str x1, [sp, #-16]!", 2, {0x9100001f, 0xf81f0fe1}, SR_KERNEL_PTR},
    {"mov sp, x0 ; svc #0 (x8=getpid)", 2, {0x9100001f, 0xd4000001}, SR_SYSCALL_SAFE},
    {"mov sp, x0 ; brk #0", 2, {0x9100001f, 0xd4200000}, SR_MISALIGNED_PTR},
    {"mov sp, x0 ; udf #0", 2, {0x9100001f, 0x00000000}, SR_KERNEL_PTR},
    {"rdvl x0, #1 (SVE)", 1, {0x04bf5020}, SR_NONE},
    {"smstart (SME)", 1, {0xd503477f}, SR_NONE},
    {"irg x0, x1 (MTE)", 1, {0x9ac11000}, SR_NONE},
    {"ld64b x0, [x1] (LS64)", 1, {0xf83fd020}, SR_NONE},
    {"fdiv d0, d1, d2 (traps on)", 3, {0xd51b4400, 0x9e670001, 0x1e621820}, SR_ZERO_DIV},
    {"random words", 0, {0}, SR_RANDOM},
};

#else
#error "fuzz: unsupported architecture"
#endif

#endif
