/**
 * The queue screen's words in English and Simplified Chinese (the `queue` namespace). Imported only from this
 * folder, a chunk of its own loaded for queue sales, so it never weighs on the storefront's first load. Add a key
 * to both catalogues at once: the Chinese must have exactly the English keys (the compiler checks it;
 * test/web/i18n.test.tsx checks the placeholders).
 */
import { createTranslator, type Translation } from "../i18n/i18n.ts";

const en = {
  "queue.heading": "Queue",
  "queue.how":
    "This sale has a queue. Everyone who joins before the start gets a random place at the start — joining early or late before then makes no difference. After the start, places go in order of joining.",
  "queue.signIn": "Sign in to join the queue",
  "queue.join": "Join the queue",
  "queue.joining": "Joining…",
  "queue.joinedEarly": "You're in the queue. Your place is drawn at random when the sale starts.",
  "queue.startsIn": "The sale starts in {time}.",
  "queue.position": "You are number {position} in line",
  "queue.stockLeft": "{count} left",
  "queue.estimate": "Estimated wait: about {time}. This is an estimate from how fast the queue moves now.",
  "queue.estimateUnknown": "The wait depends on whether shoppers ahead of you buy.",
  "queue.chance":
    "There are fewer units left than people ahead of you: you get one only if some of them do not buy in time.",
  "queue.next": "When it's your turn you get at least 30 seconds to buy. Keep this page open.",
  "queue.admitted": "It's your turn! Buy before {time}.",
  "queue.purchased": "You have bought from this sale. Your order is in My orders.",
  "queue.expired": "Your turn passed without a purchase, so your place went to the next in line.",
  "queue.soldOut": "Sold out — you were number {number} in line.",
  "queue.soldOutNext": "If a unit comes back (an unpaid order), it goes to the next in line in order.",
  "queue.ended": "The sale has ended.",
  "queue.live": "Updates arrive live.",
  "queue.polling": "Updates every few seconds.",
  "queue.seconds": "{count} s",
  "queue.minutes": "{count} min",
  "error.generic": "Something went wrong, please try again",
} as const;

export type QueueTextKey = keyof typeof en;

const zh: Translation<typeof en> = {
  "queue.heading": "排队",
  "queue.how":
    "本次销售需要排队。开售前加入的所有人会在开售时获得随机排位——开售前早加入或晚加入没有区别。开售后按加入顺序排队。",
  "queue.signIn": "登录后加入排队",
  "queue.join": "加入排队",
  "queue.joining": "正在加入…",
  "queue.joinedEarly": "你已在队列中。开售时将随机抽取你的排位。",
  "queue.startsIn": "距开售还有 {time}。",
  "queue.position": "你排在第 {position} 位",
  "queue.stockLeft": "剩余 {count} 件",
  "queue.estimate": "预计等待：约 {time}。这是根据当前队列速度得出的估计。",
  "queue.estimateUnknown": "等待时间取决于排在你前面的人是否购买。",
  "queue.chance": "剩余数量少于排在你前面的人数：只有当其中有人未按时购买时，你才能买到。",
  "queue.next": "轮到你时，你至少有 30 秒时间购买。请保持此页面打开。",
  "queue.admitted": "轮到你了！请在 {time} 前购买。",
  "queue.purchased": "你已在本次销售中购买，订单见“我的订单”。",
  "queue.expired": "你的购买时间已过，排位已让给下一位。",
  "queue.soldOut": "已售罄——你当时排在第 {number} 位。",
  "queue.soldOutNext": "如有商品退回（未付款的订单），将按排队顺序给下一位。",
  "queue.ended": "销售已结束。",
  "queue.live": "实时更新。",
  "queue.polling": "每隔几秒更新一次。",
  "queue.seconds": "{count} 秒",
  "queue.minutes": "{count} 分钟",
  "error.generic": "出错了，请重试",
};

/** `tq("key", {params})`: the queue screen's words in the current locale. */
export const tq = createTranslator(en, zh);
