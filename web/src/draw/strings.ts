/**
 * The words of the draw and registration screens, in English and Simplified Chinese, kept in one catalogue in
 * the same shape as the app's other catalogues (flat `"area.what": "text with {placeholders}"` keys, the
 * Chinese with exactly the English keys — the compiler checks it), so they move into the app's i18n module as
 * they are. Until then `t` picks the language from the browser's languages (any Chinese → Simplified Chinese),
 * else English.
 */
const en = {
  "draw.heading": "Draw",
  "draw.how": "This sale is a draw: enter before the draw, and a fair, verifiable draw decides who may buy.",
  "draw.signIn": "Sign in to enter the draw",
  "draw.notStarted": "Entries open when the sale starts.",
  "draw.enter": "Enter the draw",
  "draw.entering": "Entering…",
  "draw.entered": "You're in the draw. The draw is at {time}.",
  "draw.running": "The draw is running — your result appears in a few seconds.",
  "draw.closed": "Entries are closed.",
  "draw.won": "You won! Your order is reserved — pay before the window closes.",
  "draw.viewOrder": "View your order",
  "draw.waitlisted":
    "You're number {position} on the waitlist. If a winner does not pay, their unit comes to the next in line.",
  "draw.lost": "The sale has ended. You were not drawn this time.",
  "draw.verify": "Verify this draw",
  "draw.commitment": "Commitment (SHA-256 of the secret seed)",

  "verify.heading": "Verify the draw",
  "verify.intro":
    'Recompute the draw in your browser from the revealed seed: every entry is ranked by SHA-256(seed + ":" + user id), lowest first.',
  "verify.pending": "The draw has not run yet. The seed stays secret until then; its commitment is published now:",
  "verify.seed": "Seed",
  "verify.algorithm": "Algorithm",
  "verify.entries": "Entries: {count} · winners: {winners} · waitlist: {waitlist}",
  "verify.computing": "Recomputing… {done} of {total}",
  "verify.ok": "Verified: the seed matches the commitment and the ranking matches the published winners and waitlist.",
  "verify.badCommitment": "Mismatch: SHA-256 of the seed is not the published commitment.",
  "verify.badRanking": "Mismatch: the recomputed ranking differs from the published one.",
  "verify.winners": "Winners",
  "verify.waitlist": "Waitlist",
  "verify.more": "and {count} more",
  "verify.you": "you",
  "verify.back": "Back to the sale",
  "verify.notFound": "This sale has no draw.",

  "register.heading": "Registration",
  "register.how": "Only shoppers who register before the start may buy in this sale.",
  "register.signIn": "Sign in to register",
  "register.button": "Register for this sale",
  "register.working": "Registering…",
  "register.done": "You're registered. Come back at the start to buy.",
  "register.doneLive": "You're registered: you may buy.",
  "register.closed": "Registration closed at the start. Only registered shoppers may buy.",

  "error.generic": "Something went wrong, please try again",
} as const;

export type DrawTextKey = keyof typeof en;

const zh: { readonly [K in DrawTextKey]: string } = {
  "draw.heading": "抽签",
  "draw.how": "本次销售采用抽签：请在抽签前报名，由公平、可验证的抽签决定谁可以购买。",
  "draw.signIn": "登录后报名抽签",
  "draw.notStarted": "销售开始后开放报名。",
  "draw.enter": "报名抽签",
  "draw.entering": "正在报名…",
  "draw.entered": "你已报名。抽签时间：{time}。",
  "draw.running": "正在抽签，几秒钟后显示结果。",
  "draw.closed": "报名已截止。",
  "draw.won": "恭喜中签！订单已为你保留，请在付款时限内付款。",
  "draw.viewOrder": "查看订单",
  "draw.waitlisted": "你在候补名单第 {position} 位。若中签者未付款，名额将依次递补。",
  "draw.lost": "销售已结束，本次未中签。",
  "draw.verify": "验证本次抽签",
  "draw.commitment": "承诺值（秘密种子的 SHA-256）",

  "verify.heading": "验证抽签",
  "verify.intro": '在浏览器中用公开的种子重新计算抽签：每个报名按 SHA-256(种子 + ":" + 用户 ID) 从小到大排序。',
  "verify.pending": "尚未抽签。种子在抽签前保密，现已公布其承诺值：",
  "verify.seed": "种子",
  "verify.algorithm": "算法",
  "verify.entries": "共 {count} 人报名，{winners} 人中签，{waitlist} 人候补",
  "verify.computing": "正在重新计算… {done} / {total}",
  "verify.ok": "验证通过：种子与承诺值一致，重新计算的排名与公布的中签和候补名单一致。",
  "verify.badCommitment": "不一致：种子的 SHA-256 与公布的承诺值不符。",
  "verify.badRanking": "不一致：重新计算的排名与公布的不同。",
  "verify.winners": "中签者",
  "verify.waitlist": "候补名单",
  "verify.more": "另有 {count} 人",
  "verify.you": "你",
  "verify.back": "返回商品",
  "verify.notFound": "该销售没有抽签。",

  "register.heading": "预约",
  "register.how": "只有在开售前预约的顾客才能购买。",
  "register.signIn": "登录后预约",
  "register.button": "预约本次销售",
  "register.working": "正在预约…",
  "register.done": "预约成功。请在开售时回来购买。",
  "register.doneLive": "你已预约，可以购买。",
  "register.closed": "预约已在开售时截止，只有已预约的顾客可以购买。",

  "error.generic": "出错了，请重试",
};

export const drawCatalogs = { en, zh };

function currentLanguage(): "en" | "zh" {
  const tags: string[] = [];
  if (typeof navigator !== "undefined") tags.push(...(navigator.languages ?? [navigator.language ?? "en"]));
  for (const tag of tags) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === "zh") return "zh";
    if (primary === "en") return "en";
  }
  return "en";
}

/** The message for `key` in the current language, with `{name}` placeholders filled from `params`. */
export function t(key: DrawTextKey, params?: Record<string, string | number>): string {
  const message: string = drawCatalogs[currentLanguage()][key];
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}
