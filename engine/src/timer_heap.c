/* The I/O loops' heap of nanosecond deadlines. libuv's own timers have
 * millisecond resolution, which would add up to a millisecond to every
 * simulated sleep, so each loop keeps this heap behind one timerfd. */
#include "io_internal.h"

#include <stdlib.h>

int rankd__timer_heap_push(rankd__timer_heap *h, rankd__timer_entry e)
{
    if (h->count == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 256;
        rankd__timer_entry *grown = realloc(h->items, cap * sizeof *grown);
        if (grown == NULL)
            return RANKD_ERUNTIME;
        h->items = grown;
        h->cap = cap;
    }
    uint32_t i = h->count++;
    while (i > 0 && h->items[(i - 1) / 2].deadline > e.deadline) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = e;
    return RANKD_OK;
}

rankd__timer_entry rankd__timer_heap_pop(rankd__timer_heap *h)
{
    rankd__timer_entry top = h->items[0];
    rankd__timer_entry last = h->items[--h->count];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->count)
            break;
        if (c + 1 < h->count && h->items[c + 1].deadline < h->items[c].deadline)
            c++;
        if (h->items[c].deadline >= last.deadline)
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->count > 0)
        h->items[i] = last;
    return top;
}
