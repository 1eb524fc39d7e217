/**
 * How a noegleviser token shows itself on USB: the IDs and HID usage a host looks for. The vendor
 * ID is pid.codes' (0x1209), the registry for open-source hardware; the usage page is vendor
 * defined, so no browser or FIDO stack takes the token for one of its own.
 */
export const USB_VENDOR_ID = 0x1209;
export const USB_PRODUCT_ID = 0x4e56; // "NV"
export const HID_USAGE_PAGE = 0xff00;
export const HID_USAGE = 0x01;
