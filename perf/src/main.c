/* perfmatrix: the sweep driver and reporter; everything lives in the
 * perfmatrix_core library so tests can call it. */
#include "perfmatrix/cli.h"

int main(int argc, char **argv)
{
    return pm_main(argc, argv);
}
