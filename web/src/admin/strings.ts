/**
 * The merchant screens' words, in one place, keyed, so they move into the app's dictionary (English and
 * Simplified Chinese, docs/api.md "Languages") as they are: plain strings, and functions for the few that
 * carry numbers or names.
 */
export const adminText = {
  photoTitle: "Product photo",
  photoNone: "No photo yet. Shoppers see the sale without one.",
  photoPick: "Choose a PNG, JPEG or WebP image (up to 2 MiB)",
  photoUpload: "Upload photo",
  photoReplace: "Replace photo",
  photoUploading: "Uploading…",
  photoDelete: "Delete photo",
  photoDeleted: "The photo was deleted.",
  photoUploaded: "The photo is live on the sale's page.",
  photoTooLarge: "That file is over 2 MiB: choose a smaller one.",
  photoWrongType: "That file is not a PNG, JPEG or WebP image.",
  photoChooseFirst: "Choose an image file first.",
  photoAlt: (title: string) => `Photo of ${title}`,

  editTitle: "Edit before the start",
  editHint: "A sale can be changed until it starts.",
  editSave: "Save changes",
  editSaving: "Saving…",
  editSaved: (title: string) => `Saved “${title}”.`,

  controlsTitle: "Sale controls",
  endNow: "End sale now",
  endConfirm: (title: string) => `End “${title}” now? Nobody can buy from it after this; held orders can still be paid.`,
  ended: "The sale has ended.",
  deleteSale: "Delete sale",
  deleteConfirm: (title: string) => `Delete “${title}” for good? Only a sale with no orders can be deleted.`,
  deleteHasOrders: "This sale has orders, so it cannot be deleted — end it instead.",

  revenuePaid: "Paid",
  revenueHeld: "Held, awaiting payment",
  units: (n: number) => `${n} unit${n === 1 ? "" : "s"}`,

  chartTitle: "Sell-through",
  chartRates: "Per second: attempts and rejections",
  chartSoldLabel: "Sold",
  chartAttempts: "Attempts/s",
  chartRejected: "Rejections/s",
  chartNoData: "No data yet",
  chartSummary: (sold: number, stock: number, seconds: number) =>
    `Sold ${sold} of ${stock} (${Math.round((sold / Math.max(1, stock)) * 100)}%) over ${seconds} s`,
  chartRateSummary: (attempts: number, rejected: number) =>
    `Peak ${attempts} attempts per second, ${rejected} rejections per second`,

  ordersTitle: "Orders in PostgreSQL",
  ordersNone: "No orders in the database yet.",
  ordersRefresh: "Refresh orders",
  ordersCsv: "Download CSV",
  ordersMore: "Load more orders",
  ordersLoading: "Loading…",
  ordersUpdated: (time: string) => `Updated ${time}, refreshed every 5 seconds`,
  ordersTableLabel: "Orders",
  colOrder: "Order",
  colShopper: "Shopper",
  colQty: "Qty",
  colStatus: "Status",
  colPlaced: "Placed",
  unknownShopper: "(unknown)",

  reconcile: "Reconcile",
  reconciling: "Reconciling…",
  reconcileSummary: (ledgerSold: number, databaseOrders: number, missing: number, repaired: number) =>
    `Sold (held or paid): ${ledgerSold}. PostgreSQL holds ${databaseOrders} orders of every status. ` +
    (missing === 0 ? "Nothing is missing." : `${missing} missing, ${repaired} sent again.`),
  reconcileByStatus: "Orders by status (sale object / PostgreSQL)",
} as const;
