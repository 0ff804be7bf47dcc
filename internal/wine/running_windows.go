package wine

import (
	"sync"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Running reports whether this Windows process runs under wine: wine's
// ntdll exports wine_get_version, which no Windows ntdll does.
var Running = sync.OnceValue(func() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
})

// registryKey reports whether HKLM\Software\Wine exists, which wineboot
// creates in every prefix: the second, independent sign of wine.
func registryKey() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
