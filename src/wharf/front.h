/* The fast front of the wharf CLI (src/wharf/front.c): see there. */
#ifndef WHARF_FRONT_H
#define WHARF_FRONT_H

/* A positive return of the run path, in the front only: this run needs the full CLI. */
#define WHARF_FRONT_NEED_FULL 1

/* Replace this process with the full CLI (wharf-full, next to this executable), given the
 * arguments this process started with. Does not return (exits 125 when the exec fails). */
_Noreturn void wharf_front_exec_full(void);

#endif
