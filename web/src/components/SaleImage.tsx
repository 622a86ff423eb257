/**
 * A sale's product photo (docs/api.md "Product image"), as shoppers see it: a 4:3 box whose size is known
 * before the image arrives (width/height attributes: no layout shift), the photo cropped to fill it, and
 * lazy loading for photos below the fold. Renders nothing for a sale without a photo.
 */
import type { Sale } from "../../../lib/contract/schemas.ts";

export function SaleImage({
  sale,
  lazy,
  class: className = "",
}: {
  sale: Pick<Sale, "imageUrl" | "title">;
  /** True below the fold (cards after the first row); the sale's own page loads its photo at once. */
  lazy: boolean;
  class?: string;
}) {
  if (!sale.imageUrl) return null;
  return (
    <img
      src={sale.imageUrl}
      alt={sale.title}
      width={800}
      height={600}
      loading={lazy ? "lazy" : "eager"}
      decoding="async"
      class={`aspect-[4/3] h-auto w-full rounded-lg bg-slate-100 object-cover ${className}`}
      data-sale-image
    />
  );
}
