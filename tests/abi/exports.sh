#!/usr/bin/env bash
# libmkey.so exports exactly the public API: every exported function starts
# with mk_ and is declared in include/mkey/, and internal helpers stay hidden.
set -u
lib=$1 inc=$2
syms=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
[ -n "$syms" ] || { echo "no exported functions in $lib"; exit 1; }
bad=0
for s in $syms; do
  case "$s" in mk_*) ;; _init|_fini) continue ;; *) echo "exported non-mk symbol: $s"; bad=1; continue ;; esac
  grep -rqw "$s" "$inc" || { echo "exported but not in include/mkey: $s"; bad=1; }
done
for internal in mk_buf_append mk_json_parse mk_log mk_id_new mk_err_ossl; do
  if printf '%s\n' $syms | grep -qx "$internal"; then echo "internal symbol exported: $internal"; bad=1; fi
done
echo "$(printf '%s\n' $syms | wc -l) exported functions checked"
exit $bad
