#include <stdio.h>
#include "mkey/mkey.h"
int main(void) { printf("mkeyd %s\n", mk_version()); return 0; }
