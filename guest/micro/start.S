/* Entry point of the micro guest, placed first at MICRO_LOAD_ADDR by micro.ld.
 * The VMM already set ESP and ESI; set the stack again so the guest does not
 * depend on it, and pass the boot-info pointer to micro_main(). */
#include "micro_abi.h"

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    movl $MICRO_STACK_TOP, %esp
    pushl %esi
    call micro_main
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
