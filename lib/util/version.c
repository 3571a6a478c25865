#include "mkey/mkey.h"

MK_EXPORT const char *mk_version(void) { return MKEY_VERSION; }
