/*
 * bcryptprimitives.dll for wine before 8.13, which lacks it: Go's Windows
 * runtime (Go 1.22 and later) loads bcryptprimitives.dll at start and
 * calls ProcessPrng for its random numbers, so without it every Go
 * Windows binary dies before main. This DLL exports ProcessPrng over
 * advapi32's SystemFunction036 (RtlGenRandom), which wine 8.0 has.
 *
 * Only for running the test binaries under wine (make test-windows); it is
 * never shipped. Built by .ci/wine-setup with x86_64-w64-mingw32-gcc.
 */
#include <windows.h>

/* RtlGenRandom, exported by advapi32 as SystemFunction036 (ntsecapi.h). */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/*
 * ProcessPrng fills data with len random bytes. Windows documents it as
 * always returning TRUE; here a failure of the underlying generator is
 * reported as FALSE rather than hidden. SystemFunction036 takes a ULONG
 * length, so a larger request is served in pieces.
 */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance;
	(void)reason;
	(void)reserved;
	return TRUE;
}
