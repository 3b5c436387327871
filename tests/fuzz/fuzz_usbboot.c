// SPDX-License-Identifier: GPL-2.0
/*
 * The file-server request parser and the name check on device-supplied
 * bytes: never read past the input, always leave a NUL-terminated name,
 * and never accept a name that could leave the firmware directory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbboot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_usbboot_req r;
	char err[160], why[160];
	uint8_t *copy;

	/* Exact-size heap copy so ASan sees any over-read. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (bs_usbboot_parse_request(copy, size, &r, err, sizeof(err)) == 0) {
		size_t n = strnlen(r.name, sizeof(r.name));

		if (n == sizeof(r.name))
			abort();
		if (r.cmd != BS_USBBOOT_GET_FILE_SIZE && r.cmd != BS_USBBOOT_READ_FILE &&
		    r.cmd != BS_USBBOOT_DONE)
			abort();
		if (n == 0 && r.cmd != BS_USBBOOT_DONE)
			abort();
		if (n && bs_usbboot_name_ok(r.name, why, sizeof(why)) == 0) {
			if (r.name[0] == '/' || strstr(r.name, "..") || strstr(r.name, "//"))
				abort();
		}
	} else if (!err[0]) {
		abort();
	}
	free(copy);
	return 0;
}
