#include <stdio.h>
#include "mkey/mkey.h"
int cmd_version(int argc, const char **argv) { printf("mkey %s\n", mk_version()); return 0; }
