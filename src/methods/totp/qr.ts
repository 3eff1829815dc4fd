/** The QR code of an otpauth URL as Kratos shows it (`key.Image(256, 256)`): a 256×256 PNG data URL. */

export const QR_SIZE = 256;
const ERROR_CORRECTION = 'M'; // pquerna/otp encodes with qr.M

/**
 * qrcode sizes the image as floor(modules × (width / modules)), which floating point rounds down to 255 for some
 * module counts; the quiet zone (2 modules, or the nearest that avoids it) is chosen so the PNG is exactly 256 wide.
 */
function marginFor(modules: number): number {
  return [2, 3, 4, 1].find((m) => Math.floor((modules + 2 * m) * (QR_SIZE / (modules + 2 * m))) === QR_SIZE) ?? 2;
}

/** `data:image/png;base64,…` of a 256×256 QR code of `text`. */
export async function qrDataUrl(text: string): Promise<string> {
  // Loaded with the first QR code (a TOTP set-up), not with the server.
  const { default: QRCode } = await import('qrcode');
  const symbol = QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION });
  return QRCode.toDataURL(text, {
    type: 'image/png',
    errorCorrectionLevel: ERROR_CORRECTION,
    version: symbol.version,
    width: QR_SIZE,
    margin: marginFor(symbol.modules.size),
  });
}
