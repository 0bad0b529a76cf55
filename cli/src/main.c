/* rondo-cli: query, inspect and write rondo stores (see rondocli_main). */
#include "rondocli/rondocli.h"

int main(int argc, char **argv)
{
    return rondocli_main(argc, argv, stdout, stderr);
}
