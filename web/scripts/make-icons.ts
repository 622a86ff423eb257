/**
 * Renders the PNG icons of the web app manifest from web/public/icons/icon.svg (run by hand after changing
 * the SVG: `node web/scripts/make-icons.ts`). The PNGs are committed; the build does not need sharp.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";

const dir = path.join(import.meta.dirname, "..", "public", "icons");
const svg = readFileSync(path.join(dir, "icon.svg"));

for (const size of [192, 512]) {
  await sharp(svg, { density: 384 })
    .resize(size, size)
    .png()
    .toFile(path.join(dir, `icon-${size}.png`));
}
// Maskable: the mark inside the 80 % safe zone on a full-bleed background.
const inner = await sharp(svg, { density: 384 }).resize(384, 384).png().toBuffer();
await sharp({ create: { width: 512, height: 512, channels: 4, background: "#b91c1c" } })
  .composite([{ input: inner, top: 64, left: 64 }])
  .png()
  .toFile(path.join(dir, "icon-maskable-512.png"));
