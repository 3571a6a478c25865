#include <stdio.h>
#include "mkey/mkey.h"
int main(void) { printf("mkey %s\n", mk_version()); return 0; }
