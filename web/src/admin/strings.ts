/**
 * The words of the merchant screens added with photos, ending/deleting, editing, revenue and the series, in
 * the shape of the app's i18n catalogues (`"merchant.…": "text with {placeholders}"`, English and Simplified
 * Chinese with the same keys), so they join the merchant catalogue as they are. Until then `ta` answers in
 * English.
 */
const en = {
  "merchant.photo.heading": "Product photo",
  "merchant.photo.none": "No photo yet. Shoppers see the sale without one.",
  "merchant.photo.pick": "Choose a PNG, JPEG or WebP image (up to 2 MiB)",
  "merchant.photo.upload": "Upload photo",
  "merchant.photo.replace": "Replace photo",
  "merchant.photo.uploading": "Uploading…",
  "merchant.photo.delete": "Delete photo",
  "merchant.photo.deleted": "The photo was deleted.",
  "merchant.photo.uploaded": "The photo is live on the sale's page.",
  "merchant.photo.tooLarge": "That file is over 2 MiB: choose a smaller one.",
  "merchant.photo.wrongType": "That file is not a PNG, JPEG or WebP image.",
  "merchant.photo.chooseFirst": "Choose an image file first.",
  "merchant.photo.alt": "Photo of {title}",

  "merchant.edit.heading": "Edit before the start",
  "merchant.edit.hint": "A sale can be changed until it starts.",
  "merchant.edit.save": "Save changes",
  "merchant.edit.saving": "Saving…",
  "merchant.edit.saved": "Saved “{title}”.",
  "merchant.create.endsInFuture": "The end must be in the future",
  "merchant.create.currencyUnknown": "Not a currency code we know, e.g. USD or CNY",

  "merchant.controls.label": "Sale controls",
  "merchant.controls.end": "End sale now",
  "merchant.controls.endConfirm": "End “{title}” now? Nobody can buy from it after this; held orders can still be paid.",
  "merchant.controls.ended": "The sale has ended.",
  "merchant.controls.delete": "Delete sale",
  "merchant.controls.deleteConfirm": "Delete “{title}” for good? Only a sale with no orders can be deleted.",
  "merchant.controls.deleteHasOrders": "This sale has orders, so it cannot be deleted — end it instead.",

  "merchant.revenue.paid": "Paid",
  "merchant.revenue.held": "Held, awaiting payment",
  "merchant.revenue.unit": "1 unit",
  "merchant.revenue.units": "{count} units",

  "merchant.chart.heading": "Sell-through",
  "merchant.chart.rates": "Per second: attempts and rejections",
  "merchant.chart.attemptsPerSecond": "Attempts/s",
  "merchant.chart.rejectedPerSecond": "Rejections/s",
  "merchant.chart.none": "No data yet",
  "merchant.chart.soldSummary": "Sold {sold} of {stock} ({percent}%) over {seconds} s",
  "merchant.chart.rateSummary": "Peak {attempts} attempts per second, {rejected} rejections per second",

  "merchant.orders.heading": "Orders in PostgreSQL",
  "merchant.orders.empty": "No orders in the database yet.",
  "merchant.orders.refresh": "Refresh orders",
  "merchant.orders.csv": "Download CSV",
  "merchant.orders.more": "Load more orders",
  "merchant.orders.loading": "Loading…",
  "merchant.orders.updated": "Updated {time}, refreshed every 5 seconds",
  "merchant.orders.table": "Orders",
  "merchant.orders.colOrder": "Order",
  "merchant.orders.colShopper": "Shopper",
  "merchant.orders.colQty": "Qty",
  "merchant.orders.colStatus": "Status",
  "merchant.orders.colPlaced": "Placed",
  "merchant.orders.unknownShopper": "(unknown)",

  "merchant.detail.reconcile": "Reconcile",
  "merchant.detail.reconciling": "Reconciling…",
  "merchant.reconcile.summary": "Sold (held or paid): {ledgerSold}. PostgreSQL holds {databaseOrders} orders of every status.",
  "merchant.reconcile.nothingMissing": "Nothing is missing.",
  "merchant.reconcile.missing": "{missing} missing, {repaired} sent again.",
  "merchant.reconcile.byStatus": "Orders by status (sale object / PostgreSQL)",
} as const;

export const zh: { readonly [K in keyof typeof en]: string } = {
  "merchant.photo.heading": "商品图片",
  "merchant.photo.none": "还没有图片。顾客看到的活动没有图片。",
  "merchant.photo.pick": "选择 PNG、JPEG 或 WebP 图片（最大 2 MiB）",
  "merchant.photo.upload": "上传图片",
  "merchant.photo.replace": "更换图片",
  "merchant.photo.uploading": "正在上传…",
  "merchant.photo.delete": "删除图片",
  "merchant.photo.deleted": "图片已删除。",
  "merchant.photo.uploaded": "图片已显示在活动页面上。",
  "merchant.photo.tooLarge": "该文件超过 2 MiB，请选择更小的文件。",
  "merchant.photo.wrongType": "该文件不是 PNG、JPEG 或 WebP 图片。",
  "merchant.photo.chooseFirst": "请先选择一个图片文件。",
  "merchant.photo.alt": "{title} 的图片",

  "merchant.edit.heading": "开始前修改",
  "merchant.edit.hint": "活动开始前都可以修改。",
  "merchant.edit.save": "保存修改",
  "merchant.edit.saving": "正在保存…",
  "merchant.edit.saved": "已保存“{title}”。",
  "merchant.create.endsInFuture": "结束时间必须在将来",
  "merchant.create.currencyUnknown": "不是已知的货币代码，例如 USD 或 CNY",

  "merchant.controls.label": "活动操作",
  "merchant.controls.end": "立即结束活动",
  "merchant.controls.endConfirm": "现在结束“{title}”？此后无人能再购买；已锁定的订单仍可付款。",
  "merchant.controls.ended": "活动已结束。",
  "merchant.controls.delete": "删除活动",
  "merchant.controls.deleteConfirm": "永久删除“{title}”？只有没有订单的活动才能删除。",
  "merchant.controls.deleteHasOrders": "该活动已有订单，不能删除 — 请改为结束活动。",

  "merchant.revenue.paid": "已付款",
  "merchant.revenue.held": "已锁定，待付款",
  "merchant.revenue.unit": "1 件",
  "merchant.revenue.units": "{count} 件",

  "merchant.chart.heading": "售出进度",
  "merchant.chart.rates": "每秒：尝试次数与被拒绝次数",
  "merchant.chart.attemptsPerSecond": "尝试/秒",
  "merchant.chart.rejectedPerSecond": "被拒绝/秒",
  "merchant.chart.none": "暂无数据",
  "merchant.chart.soldSummary": "{stock} 件中已售 {sold} 件（{percent}%），历时 {seconds} 秒",
  "merchant.chart.rateSummary": "峰值每秒 {attempts} 次尝试，每秒 {rejected} 次被拒绝",

  "merchant.orders.heading": "PostgreSQL 中的订单",
  "merchant.orders.empty": "数据库中还没有订单。",
  "merchant.orders.refresh": "刷新订单",
  "merchant.orders.csv": "下载 CSV",
  "merchant.orders.more": "加载更多订单",
  "merchant.orders.loading": "正在加载…",
  "merchant.orders.updated": "更新于 {time}，每 5 秒刷新",
  "merchant.orders.table": "订单",
  "merchant.orders.colOrder": "订单",
  "merchant.orders.colShopper": "顾客",
  "merchant.orders.colQty": "数量",
  "merchant.orders.colStatus": "状态",
  "merchant.orders.colPlaced": "下单时间",
  "merchant.orders.unknownShopper": "（未知）",

  "merchant.detail.reconcile": "对账",
  "merchant.detail.reconciling": "正在对账…",
  "merchant.reconcile.summary": "已售（锁定或已付款）：{ledgerSold}。PostgreSQL 中共有 {databaseOrders} 个各状态的订单。",
  "merchant.reconcile.nothingMissing": "没有缺失。",
  "merchant.reconcile.missing": "缺失 {missing} 个，已重发 {repaired} 个。",
  "merchant.reconcile.byStatus": "各状态订单数（活动对象 / PostgreSQL）",
};

export type AdminTextKey = keyof typeof en;

/** `{name}` → `params.name`; unknown names stay as written. */
export function ta(key: AdminTextKey, params?: Record<string, string | number>): string {
  const message: string = en[key];
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => (params[name] === undefined ? whole : String(params[name])));
}

/** "1 unit" / "n units". */
export function unitsText(count: number): string {
  return count === 1 ? ta("merchant.revenue.unit") : ta("merchant.revenue.units", { count });
}
