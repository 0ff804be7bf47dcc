# Sourced by .ci/wine-setup and .ci/wine-exec: the wine binary, the
# dedicated prefix, and an environment that never shows a window, asks
# nothing, and installs neither Mono nor Gecko (no download).
wine_bin=${WINE64:-}
if [ -z "$wine_bin" ]; then
  for c in /usr/lib/wine/wine64 "$(command -v wine64 || true)" "$(command -v wine || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then wine_bin=$c; break; fi
  done
fi
wineserver_bin=${WINESERVER:-}
if [ -z "$wineserver_bin" ]; then
  for c in /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver "$(command -v wineserver || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then wineserver_bin=$c; break; fi
  done
fi
export WINEPREFIX="${SSM_PROBE_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/ssm-probe/wine}"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
unset DISPLAY WAYLAND_DISPLAY
