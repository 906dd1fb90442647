#include "runtime/parallel.h"

#include <pthread.h>
#include <stdbool.h>

enum { RT_MAX_THREADS = 64 };

typedef struct {
    void (*fn)(void *arg, int part, int64_t begin, int64_t end);
    void *arg;
    int part;
    int64_t begin, end;
} rt_part;

static void *rt_part_main(void *p)
{
    rt_part *part = p;
    part->fn(part->arg, part->part, part->begin, part->end);
    return NULL;
}

void rt_parallel_for(int threads, int64_t n, int64_t min_items,
                     void (*fn)(void *arg, int part, int64_t begin, int64_t end), void *arg)
{
    if (min_items < 1)
        min_items = 1;
    if (threads > RT_MAX_THREADS)
        threads = RT_MAX_THREADS;
    if (threads > 1 && n / threads < min_items)
        threads = (int)(n / min_items);
    if (threads <= 1 || n <= 1) {
        if (n > 0)
            fn(arg, 0, 0, n);
        return;
    }
    rt_part parts[RT_MAX_THREADS];
    pthread_t tid[RT_MAX_THREADS];
    bool started[RT_MAX_THREADS] = {false};
    for (int t = 0; t < threads; t++)
        parts[t] = (rt_part){fn, arg, t, n * t / threads, n * (t + 1) / threads};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, rt_part_main, &parts[t]) == 0;
    fn(arg, 0, parts[0].begin, parts[0].end);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            fn(arg, t, parts[t].begin, parts[t].end); /* could not start: run it here */
    }
}
