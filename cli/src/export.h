/* rondo-cli export (cli/src/export.c), kept apart from the other subcommands. */
#ifndef RONDOCLI_EXPORT_H
#define RONDOCLI_EXPORT_H

#include "rondocli/rondocli.h"

#include <stdio.h>

/* Runs `rondo-cli export ...` (argv[1] is "export"); returns the exit code. */
int rondocli__export(int argc, char **argv, FILE *out, FILE *err);

#endif
