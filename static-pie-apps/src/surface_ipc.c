/* surface_ipc: System V shared memory, semaphores and message queues, and POSIX
 * message queues. Every object is private (IPC_PRIVATE or a unique name) and
 * removed before the probe ends, so that runs on a shared host do not meet.
 *
 *   surface_ipc [SECTION]   sections: shm sem msg mq perms
 *
 * shm    shmget/shmat/shmdt/shmctl: sharing with a child, read-only attaches,
 *        nattch, IPC_RMID while attached, sizes, SHM_RND, the errors
 * sem    semget/semop/semtimedop/semctl: values, atomic multi-operation calls,
 *        waiting (a child wakes the parent), IPC_NOWAIT, SEM_UNDO at exit,
 *        timeouts, GETNCNT/GETZCNT/GETPID, SETALL/GETALL, the errors
 * msg    msgget/msgsnd/msgrcv/msgctl: types, MSG_EXCEPT, negative types,
 *        MSG_NOERROR, E2BIG, ENOMSG, a blocked receive woken by a child, a full
 *        queue, IPC_STAT counts, the errors
 * mq     mq_open/mq_send/mq_receive: priorities, limits, non-blocking calls,
 *        timeouts, mq_getattr/mq_setattr, mq_notify with a signal, unlink
 *        while open, the errors
 * perms  the rights of another user: EACCES and EPERM */
#include "surface_common.h"
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define MS 1000000ull

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int semctl_val(int id, int n, int cmd) { return semctl(id, n, cmd); }

/* -------------------------------------------------------------------- shm -- */

static void shm(void)
{
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    printf("shmget 10000 bytes: %s\n", res(id));
    struct shmid_ds ds;
    T("IPC_STAT", shmctl(id, IPC_STAT, &ds));
    printf("size %lu, mode %o, nattch %lu, cpid mine: %s, owner is me: %s\n", (unsigned long)ds.shm_segsz,
           (unsigned)ds.shm_perm.mode & 0777, (unsigned long)ds.shm_nattch, yesno(ds.shm_cpid == getpid()),
           yesno(ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid()));
    char *p = shmat(id, NULL, 0);
    printf("shmat: %s, page aligned: %s\n", p == (void *)-1 ? errname(errno) : "OK", yesno(((uintptr_t)p & 4095) == 0));
    printf("starts zeroed: %s\n", yesno(p[0] == 0 && p[9999] == 0));
    strcpy(p, "parent");
    shmctl(id, IPC_STAT, &ds);
    printf("nattch %lu\n", (unsigned long)ds.shm_nattch);
    char *q = shmat(id, NULL, SHM_RDONLY);
    printf("second attach, read-only, sees it: %s\n", yesno(q != (void *)-1 && strcmp(q, "parent") == 0));
    shmctl(id, IPC_STAT, &ds);
    printf("nattch %lu\n", (unsigned long)ds.shm_nattch);
    pid_t c = xfork();
    if (c == 0) {
        struct shmid_ds d2;
        shmctl(id, IPC_STAT, &d2);
        int inherited = d2.shm_nattch == 4;
        strcpy(p, "child wrote");
        char *r = shmat(id, NULL, 0);
        int fresh = r != (void *)-1 && strcmp(r, "child wrote") == 0;
        _exit(inherited && fresh ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child saw 4 attachments (inherited ones count) and a fresh attach saw its write: %s\n",
           yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    printf("the parent sees the child's write: %s\n", yesno(strcmp(p, "child wrote") == 0));
    shmctl(id, IPC_STAT, &ds);
    printf("after the child exited: nattch %lu\n", (unsigned long)ds.shm_nattch);
    T("shmdt the read-only attach", shmdt(q));
    T("shmdt it again", shmdt(q));
    T("shmdt inside an attachment", shmdt(p + 4096));
    T("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL));
    T("IPC_STAT after IPC_RMID (still attached)", shmctl(id, IPC_STAT, &ds));
    printf("SHM_DEST set: %s, key now 0: %s\n", yesno(ds.shm_perm.mode & SHM_DEST), yesno(ds.shm_perm.__key == 0));
    printf("still usable: %s\n", yesno(strcmp(p, "child wrote") == 0));
    T("shmdt the last attach", shmdt(p));
    T("IPC_STAT once gone", shmctl(id, IPC_STAT, &ds));
    T("shmat once gone", (long)shmat(id, NULL, 0) == -1 ? -1 : 0);

    /* Fixed addresses. */
    id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *area = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 3 * 4096);
    char *at = shmat(id, area + 4096, 0);
    printf("shmat at a given address: %s\n", yesno(at == area + 4096));
    char *dup = shmat(id, area + 4096, 0);
    printf("shmat over it again without SHM_REMAP: %s\n", dup == (void *)-1 ? errname(errno) : "OK");
    dup = shmat(id, area + 4096, SHM_REMAP);
    printf("with SHM_REMAP: %s\n", yesno(dup == area + 4096));
    shmdt(dup);
    char *odd = shmat(id, area + 4097, 0);
    printf("unaligned address: %s\n", odd == (void *)-1 ? errname(errno) : "OK");
    odd = shmat(id, area + 4097, SHM_RND);
    printf("unaligned with SHM_RND rounds down: %s\n", yesno(odd == area + 4096));
    shmdt(odd);
    shmctl(id, IPC_RMID, NULL);

    /* Keys. */
    key_t key = 0x51ce0000 + (getpid() & 0xffff);
    int k1 = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    printf("shmget with a key: %s\n", res(k1));
    printf("the same key again: %s\n", yesno(shmget(key, 4096, 0) == k1));
    printf("smaller size is fine: %s\n", yesno(shmget(key, 100, 0) == k1));
    T("larger size", shmget(key, 8192, 0));
    T("IPC_CREAT|IPC_EXCL on it", shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600));
    shmctl(k1, IPC_RMID, NULL);
    T("a removed key is gone", shmget(key, 4096, 0));
    T("shmget size 0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    T("shmget missing key without IPC_CREAT", shmget(0x51ceffff, 4096, 0));
    T("shmctl bad id", shmctl(0x7ffffff, IPC_STAT, &ds));
    T("shmctl -1", shmctl(-1, IPC_STAT, &ds));
    id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0640);
    T("shmctl bad command", shmctl(id, 99, &ds));
    T("shmctl IPC_STAT bad pointer", shmctl(id, IPC_STAT, KPTR));
    ds.shm_perm.mode = 0600;
    ds.shm_perm.uid = geteuid();
    ds.shm_perm.gid = getegid();
    T("IPC_SET mode 0600", shmctl(id, IPC_SET, &ds));
    shmctl(id, IPC_STAT, &ds);
    printf("mode now %o\n", (unsigned)ds.shm_perm.mode & 0777);
    struct shminfo info;
    long ri = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    printf("IPC_INFO: %s\n", res(ri));
    printf("shmmin 1: %s\n", yesno(info.shmmin == 1));
    shmctl(id, IPC_RMID, NULL);
}

/* -------------------------------------------------------------------- sem -- */

static void sem(void)
{
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    printf("semget 3: %s\n", res(id));
    V("GETVAL 0 (starts at 0)", semctl_val(id, 0, GETVAL));
    union semun u = {.val = 5};
    T("SETVAL 0 to 5", semctl(id, 0, SETVAL, u));
    V("GETVAL 0", semctl_val(id, 0, GETVAL));
    V("GETPID 0 is mine", semctl_val(id, 0, GETPID) == getpid() ? 0 : -1);
    struct sembuf ops[2] = {{0, -2, 0}, {1, 1, 0}};
    T("semop: 0 -= 2 and 1 += 1", semop(id, ops, 2));
    unsigned short all[3];
    u.array = all;
    T("GETALL", semctl(id, 0, GETALL, u));
    printf("values %u %u %u\n", all[0], all[1], all[2]);
    struct sembuf nope[2] = {{1, 1, 0}, {2, -1, IPC_NOWAIT}};
    T("semop: 1 += 1 and 2 -= 1 (2 is 0), IPC_NOWAIT", semop(id, nope, 2));
    semctl(id, 0, GETALL, u);
    printf("nothing applied: %u %u %u\n", all[0], all[1], all[2]);
    struct sembuf zero = {2, 0, IPC_NOWAIT};
    T("wait for zero on 2 (it is 0)", semop(id, &zero, 1));
    struct sembuf zero1 = {1, 0, IPC_NOWAIT};
    T("wait for zero on 1 (it is 1), IPC_NOWAIT", semop(id, &zero1, 1));
    struct timespec t = {0, 50 * (long)MS};
    struct sembuf take2 = {2, -1, 0};
    T("semtimedop: take 2, timeout", semtimedop(id, &take2, 1, &t));
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(100 * MS);
        struct sembuf give = {2, 1, 0};
        semop(id, &give, 1);
        _exit(0);
    }
    sleep_ns(50 * MS);
    T("semop: take 2, a child gives it", semop(id, &take2, 1));
    reap(c, "giver");
    /* GETNCNT while a child waits. */
    c = xfork();
    if (c == 0) {
        struct sembuf w = {2, -1, 0};
        semop(id, &w, 1);
        _exit(0);
    }
    sleep_ns(100 * MS);
    V("GETNCNT 2 with a waiter", semctl_val(id, 2, GETNCNT));
    V("GETZCNT 2", semctl_val(id, 2, GETZCNT));
    u.val = 1;
    semctl(id, 2, SETVAL, u);
    reap(c, "waiter");
    V("GETNCNT 2 after", semctl_val(id, 2, GETNCNT));
    /* SEM_UNDO: a child's take is undone at its exit. */
    u.val = 3;
    semctl(id, 0, SETVAL, u);
    c = xfork();
    if (c == 0) {
        struct sembuf un = {0, -2, SEM_UNDO};
        semop(id, &un, 1);
        _exit(semctl(id, 0, GETVAL) == 1 ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child took 2 with SEM_UNDO: %s; back to 3 after its exit: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0),
           yesno(semctl_val(id, 0, GETVAL) == 3));
    unsigned short set[3] = {7, 8, 9};
    u.array = set;
    T("SETALL 7 8 9", semctl(id, 0, SETALL, u));
    u.array = all;
    semctl(id, 0, GETALL, u);
    printf("values %u %u %u\n", all[0], all[1], all[2]);
    struct semid_ds ds;
    u.buf = &ds;
    T("IPC_STAT", semctl(id, 0, IPC_STAT, u));
    printf("nsems %lu, mode %o, otime set: %s\n", (unsigned long)ds.sem_nsems, (unsigned)ds.sem_perm.mode & 0777,
           yesno(ds.sem_otime > 0));
    u.val = 40000;
    T("SETVAL 40000", semctl(id, 0, SETVAL, u));
    u.val = -1;
    T("SETVAL -1", semctl(id, 0, SETVAL, u));
    T("GETVAL semaphore 3 (of 3)", semctl_val(id, 3, GETVAL));
    struct sembuf big = {0, 32767, 0};
    T("semop past 32767", semop(id, &big, 1));
    struct sembuf outside = {5, 1, 0};
    T("semop on semaphore 5", semop(id, &outside, 1));
    T("semop 0 operations", semop(id, ops, 0));
    T("semop 501 operations", semop(id, ops, 501));
    T("semop bad pointer", semop(id, KPTR, 1));
    struct timespec bad = {0, 1000000000};
    T("semtimedop bad timeout", semtimedop(id, &take2, 1, &bad));
    T("semctl bad command", semctl_val(id, 0, 99));
    /* Removal wakes a waiter with EIDRM. */
    u.val = 0;
    semctl(id, 1, SETVAL, u);
    c = xfork();
    if (c == 0) {
        struct sembuf w = {1, -1, 0};
        int r = semop(id, &w, 1);
        _exit(r < 0 && errno == EIDRM ? 0 : 1);
    }
    sleep_ns(100 * MS);
    T("IPC_RMID", semctl_val(id, 0, IPC_RMID));
    waitpid(c, &st, 0);
    printf("the waiter got EIDRM: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    T("semop on the removed set", semop(id, &zero, 1));
    T("semget nsems 0, new", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    T("semget nsems -1", semget(IPC_PRIVATE, -1, IPC_CREAT | 0600));
    T("semget nsems 32001", semget(IPC_PRIVATE, 32001, IPC_CREAT | 0600));
    key_t key = 0x5e0e0000 + (getpid() & 0xffff);
    int k = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    printf("semget with a key: %s\n", res(k));
    printf("found with nsems 0: %s\n", yesno(semget(key, 0, 0) == k));
    T("asking for more semaphores than it has", semget(key, 3, 0));
    semctl_val(k, 0, IPC_RMID);
    /* The system call itself: the C libraries convert the *_ds layouts. */
    struct seminfo si;
    long ri = syscall(SYS_semctl, 0, 0, IPC_INFO, &si);
    printf("IPC_INFO: %s, semvmx 32767: %s, semopm 500: %s\n", res(ri), yesno(si.semvmx == 32767),
           yesno(si.semopm == 500));
}

/* -------------------------------------------------------------------- msg -- */

struct msgbuf_ {
    long mtype;
    char mtext[64];
};

static void msg(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    printf("msgget: %s\n", res(id));
    struct msgbuf_ m;
    for (int i = 1; i <= 4; i++) {
        m.mtype = i % 2 ? 1 : 2;
        snprintf(m.mtext, sizeof m.mtext, "message %d", i);
        msgsnd(id, &m, strlen(m.mtext) + 1, 0);
    }
    struct msqid_ds ds;
    T("IPC_STAT", msgctl(id, IPC_STAT, &ds));
    printf("qnum %lu, cbytes %lu, qbytes %lu, lspid mine: %s\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes, yesno(ds.msg_lspid == getpid()));
    V("msgrcv type 2", msgrcv(id, &m, sizeof m.mtext, 2, 0));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    V("msgrcv any", msgrcv(id, &m, sizeof m.mtext, 0, 0));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    V("msgrcv type 1 with MSG_EXCEPT", msgrcv(id, &m, sizeof m.mtext, 1, MSG_EXCEPT));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    m.mtype = 5;
    strcpy(m.mtext, "five");
    msgsnd(id, &m, 5, 0);
    m.mtype = 3;
    strcpy(m.mtext, "three");
    msgsnd(id, &m, 6, 0);
    V("msgrcv type -4 (lowest up to 4)", msgrcv(id, &m, sizeof m.mtext, -4, 0));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    V("msgrcv type -4 again", msgrcv(id, &m, sizeof m.mtext, -4, 0));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    T("msgrcv 2 bytes of a 5-byte message", msgrcv(id, &m, 2, 0, IPC_NOWAIT));
    V("msgrcv 2 bytes with MSG_NOERROR", msgrcv(id, &m, 2, 0, IPC_NOWAIT | MSG_NOERROR));
    printf("got type %ld \"%.2s\"\n", m.mtype, m.mtext);
    T("msgrcv empty, IPC_NOWAIT", msgrcv(id, &m, sizeof m.mtext, 0, IPC_NOWAIT));
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(100 * MS);
        struct msgbuf_ cm = {9, "from the child"};
        msgsnd(id, &cm, 15, 0);
        _exit(0);
    }
    V("msgrcv waits for the child", msgrcv(id, &m, sizeof m.mtext, 9, 0));
    printf("got type %ld \"%s\"\n", m.mtype, m.mtext);
    reap(c, "sender");
    /* A full queue. */
    ds.msg_qbytes = 100;
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 100;
    T("IPC_SET qbytes 100", msgctl(id, IPC_SET, &ds));
    m.mtype = 1;
    T("msgsnd 64 bytes", msgsnd(id, &m, 64, IPC_NOWAIT));
    T("msgsnd 64 more, IPC_NOWAIT", msgsnd(id, &m, 64, IPC_NOWAIT));
    m.mtype = 0;
    T("msgsnd type 0", msgsnd(id, &m, 1, 0));
    m.mtype = 1;
    T("msgsnd 8193 bytes", msgsnd(id, &m, 8193, 0));
    T("msgsnd bad pointer", msgsnd(id, KPTR, 1, 0));
    T("msgrcv bad size", msgrcv(id, &m, -1, 0, 0));
    T("msgctl bad command", msgctl(id, 99, &ds));
    c = xfork();
    if (c == 0) {
        struct msgbuf_ w;
        int r = msgrcv(id, &w, sizeof w.mtext, 77, 0);
        _exit(r < 0 && errno == EIDRM ? 0 : 1);
    }
    sleep_ns(100 * MS);
    T("IPC_RMID", msgctl(id, IPC_RMID, NULL));
    int st;
    waitpid(c, &st, 0);
    printf("the waiting receiver got EIDRM: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    T("msgsnd to the removed queue", msgsnd(id, &m, 1, 0));
    T("msgget missing key", msgget(0x3e5e0000 + (getpid() & 0xffff), 0));
    struct msginfo mi;
    long ri = syscall(SYS_msgctl, 0, IPC_INFO, &mi);
    printf("IPC_INFO: %s, msgmax 8192: %s, msgmnb 16384: %s\n", res(ri), yesno(mi.msgmax == 8192),
           yesno(mi.msgmnb == 16384));
}

/* --------------------------------------------------------------------- mq -- */

static volatile sig_atomic_t mq_signals, mq_code, mq_value;
static void on_mq(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)uc;
    mq_signals++;
    mq_code = si->si_code;
    mq_value = si->si_value.sival_int;
}

static void mq(void)
{
    char name[64];
    snprintf(name, sizeof name, "/surface-mq-%d", (int)getpid());
    mq_unlink(name);
    struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 32};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    printf("mq_open: %s\n", q == (mqd_t)-1 ? errname(errno) : "OK");
    T("mq_open O_EXCL again", mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a));
    struct mq_attr g;
    T("mq_getattr", mq_getattr(q, &g));
    printf("maxmsg %ld msgsize %ld curmsgs %ld flags %ld\n", g.mq_maxmsg, g.mq_msgsize, g.mq_curmsgs, g.mq_flags);
    T("send prio 1", mq_send(q, "low", 4, 1));
    T("send prio 9", mq_send(q, "high", 5, 9));
    T("send prio 1 again", mq_send(q, "low2", 5, 1));
    T("send prio 5", mq_send(q, "mid", 4, 5));
    struct timespec past = {1, 0};
    T("send to a full queue with a timeout in the past", mq_timedsend(q, "x", 2, 0, &past));
    mq_getattr(q, &g);
    printf("curmsgs %ld\n", g.mq_curmsgs);
    char buf[64];
    unsigned prio;
    for (int i = 0; i < 4; i++) {
        long n = mq_receive(q, buf, sizeof buf, &prio);
        printf("received %ld \"%s\" prio %u\n", n, n > 0 ? buf : "", prio);
    }
    struct mq_attr nb = {.mq_flags = O_NONBLOCK};
    T("mq_setattr O_NONBLOCK", mq_setattr(q, &nb, &g));
    printf("old flags %ld\n", g.mq_flags);
    T("receive from an empty queue, non-blocking", mq_receive(q, buf, sizeof buf, &prio));
    nb.mq_flags = 0;
    mq_setattr(q, &nb, NULL);
    T("receive into a buffer smaller than msgsize", mq_receive(q, buf, 8, &prio));
    T("send 33 bytes", mq_send(q, buf, 33, 0));
    T("send prio 32768", mq_send(q, "x", 2, 32768));
    T("mq_setattr bad flags", mq_setattr(q, &(struct mq_attr){.mq_flags = 1}, NULL));
    T("timedreceive bad timeout", mq_timedreceive(q, buf, sizeof buf, &prio, &(struct timespec){0, 1000000000}));
    T("timedreceive timeout in the past", mq_timedreceive(q, buf, sizeof buf, &prio, &past));
    /* A child sends; the blocked receive returns it. */
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(100 * MS);
        mq_send(q, "from the child", 15, 3);
        _exit(0);
    }
    long n = mq_receive(q, buf, sizeof buf, &prio);
    printf("blocking receive: %ld \"%s\" prio %u\n", n, n > 0 ? buf : "", prio);
    reap(c, "sender");
    /* mq_notify with a signal, once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_mq;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 33;
    T("mq_notify SIGUSR1", mq_notify(q, &ev));
    T("mq_notify again (taken)", mq_notify(q, &ev));
    mq_send(q, "ping", 5, 0);
    printf("notified once with SI_MESGQ and the value: %s\n", yesno(mq_signals == 1 && mq_code == SI_MESGQ && mq_value == 33));
    mq_send(q, "pong", 5, 0);
    printf("no second notification: %s\n", yesno(mq_signals == 1));
    T("mq_notify again after it fired", mq_notify(q, &ev));
    T("mq_notify NULL (unregister)", mq_notify(q, NULL));
    memset(buf, 0, sizeof buf);
    int raw = (int)q;
    long r = read(raw, buf, sizeof buf - 1);
    printf("read() of the descriptor: %s, starts with QSIZE: %s\n", r > 0 ? "OK" : errname(errno), yesno(strncmp(buf, "QSIZE:", 6) == 0));
    T("mq_unlink", mq_unlink(name));
    T("mq_unlink again", mq_unlink(name));
    n = mq_receive(q, buf, sizeof buf, &prio);
    printf("still usable after unlink: %s\n", yesno(n == 5));
    T("mq_open the unlinked name", mq_open(name, O_RDWR));
    mq_close(q);
    T("mq_open without O_CREAT", mq_open("/surface-mq-none", O_RDWR));
    a.mq_maxmsg = 0;
    T("mq_open maxmsg 0", mq_open(name, O_CREAT | O_RDWR, 0600, &a));
    a.mq_maxmsg = 4;
    a.mq_msgsize = -1;
    T("mq_open msgsize -1", mq_open(name, O_CREAT | O_RDWR, 0600, &a));
    T("mq_open a name with a slash inside", syscall(SYS_mq_open, "a/b", O_CREAT | O_RDWR, 0600, NULL));
    T("mq_open empty name", syscall(SYS_mq_open, "", O_CREAT | O_RDWR, 0600, NULL));
    int p[2];
    pipe(p);
    T("mq_send on a pipe", mq_send((mqd_t)p[1], "x", 2, 0));
    close(p[0]);
    close(p[1]);
    mqd_t d = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
    mq_getattr(d, &g);
    printf("default attributes: maxmsg %ld msgsize %ld\n", g.mq_maxmsg, g.mq_msgsize);
    mq_close(d);
    mqd_t ro = mq_open(name, O_RDONLY);
    T("mq_send on a read-only descriptor", mq_send(ro, "x", 2, 0));
    mq_close(ro);
    mq_unlink(name);
}

/* ------------------------------------------------------------------ perms -- */

static int perm_shm, perm_sem, perm_msg;

static void perms_unprivileged(void)
{
    T("shmat a 0600 segment of root", (long)shmat(perm_shm, NULL, 0) == -1 ? -1 : 0);
    T("shmctl IPC_RMID of root's segment", shmctl(perm_shm, IPC_RMID, NULL));
    struct sembuf op = {0, 1, IPC_NOWAIT};
    T("semop on a 0600 set of root", semop(perm_sem, &op, 1));
    T("semctl GETVAL of it", semctl_val(perm_sem, 0, GETVAL));
    struct msgbuf_ m = {1, "x"};
    T("msgsnd to a 0644 queue of root (read only for others)", msgsnd(perm_msg, &m, 1, IPC_NOWAIT));
    struct msqid_ds ds;
    T("msgctl IPC_STAT of it (readable)", msgctl(perm_msg, IPC_STAT, &ds));
    T("msgctl IPC_RMID of it", msgctl(perm_msg, IPC_RMID, NULL));
    char name[64];
    snprintf(name, sizeof name, "/surface-mq-perm-%d", (int)getppid());
    T("mq_open a 0600 queue of root", mq_open(name, O_RDWR));
    T("mq_unlink it", mq_unlink(name));
}

static void perms(void)
{
    perm_shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    perm_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    perm_msg = msgget(IPC_PRIVATE, IPC_CREAT | 0644);
    char name[64];
    snprintf(name, sizeof name, "/surface-mq-perm-%d", (int)getpid());
    mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
    as_nobody(perms_unprivileged);
    shmctl(perm_shm, IPC_RMID, NULL);
    semctl_val(perm_sem, 0, IPC_RMID);
    msgctl(perm_msg, IPC_RMID, NULL);
    mq_close(q);
    mq_unlink(name);
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"shm", shm}, {"sem", sem}, {"msg", msg}, {"mq", mq}, {"perms", perms}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}
