/* Instruction count per inference of generated C on an emulated Cortex-M4
 * (qemu-system-arm -machine mps2-an386 -icount shift=0; bench/mcu/run.sh).
 *
 * With -icount shift=0 qemu's virtual clock advances 1 ns per executed guest
 * instruction, and SysTick (CLKSOURCE = core clock) counts that clock.  The
 * firmware first measures a loop of known length (CAL_ITERS iterations of
 * a 2-instruction `subs; bne` body) to find the instructions per SysTick
 * tick, then times BENCH_CALLS calls of NAME_run on one input and prints
 * ticks and instructions per call over semihosting.  Built by run.sh with
 * -DBENCH_RUN=NAME_run -DBENCH_IN=... -DBENCH_OUT=... -DBENCH_INT8 for the
 * int8 path (NAME_run_int8 on int8 data). */
#include <stdint.h>
#include <string.h>
#include BENCH_HEADER

#ifndef BENCH_CALLS
#define BENCH_CALLS 20
#endif
#define CAL_ITERS 1000000u

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void reset_handler(void);
void reset_handler(void)
{
    uint32_t *s = &_sidata, *d = &_sdata;
    int rc;
    while (d < &_edata)
        *d++ = *s++;
    for (d = &_sbss; d < &_ebss;)
        *d++ = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: FPU on */
    __asm__ volatile("dsb\n\tisb");
    rc = main();
    semihost(0x18, (const void *)(uintptr_t)(rc == 0 ? 0x20026u : 0x20023u));
    for (;;)
        ;
}

static void fault(void)
{
    semihost(0x04, "fault\n");
    semihost(0x18, (const void *)(uintptr_t)0x20023u);
    for (;;)
        ;
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_estack, (const void *)reset_handler, (const void *)fault, (const void *)fault,
    (const void *)fault, (const void *)fault, (const void *)fault, 0, 0, 0, 0,
    (const void *)fault, (const void *)fault, 0, (const void *)fault, (const void *)fault};

/* SysTick counts down from 0xFFFFFF; elapsed ticks between two reads taken
 * less than 2^24 ticks apart. */
static uint32_t ticks_since(uint32_t start)
{
    uint32_t now = SYST_CVR;
    return (start - now) & 0xFFFFFFu;
}

static void put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    *p = 0;
}

static void print_kv(const char *key, uint64_t v)
{
    char line[64];
    size_t k = strlen(key);
    memcpy(line, key, k);
    line[k] = ' ';
    put_u64(line + k + 1, v);
    k = strlen(line);
    line[k] = '\n';
    line[k + 1] = 0;
    semihost(0x04, line);
}

#ifdef BENCH_INT8
static int8_t in_buf[BENCH_IN];
static int8_t out_buf[BENCH_OUT];
#else
static float in_buf[BENCH_IN];
static float out_buf[BENCH_OUT];
#endif

int main(void)
{
    uint32_t i, t0, cal, total = 0;
    for (i = 0; i < BENCH_IN; i++) /* a deterministic, non-trivial input */
#ifdef BENCH_INT8
        in_buf[i] = (int8_t)((int)((i * 37u + 11u) % 201u) - 100);
#else
        in_buf[i] = (float)((int)((i * 37u + 11u) % 201u) - 100) / 50.0f;
#endif
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enable, core clock, no interrupt */
    t0 = SYST_CVR;
    i = CAL_ITERS;
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(i) : : "cc");
    cal = ticks_since(t0);
    print_kv("cal_ticks", cal);
    print_kv("cal_insns", 2u * CAL_ITERS);
    if (BENCH_RUN(in_buf, out_buf) != 0) /* warm-up, and a check */
        return 1;
    for (i = 0; i < BENCH_CALLS; i++) {
        t0 = SYST_CVR;
        BENCH_RUN(in_buf, out_buf);
        total += ticks_since(t0);
    }
    print_kv("calls", BENCH_CALLS);
    print_kv("ticks", total);
    return 0;
}
