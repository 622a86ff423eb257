/**
 * Create / schedule a sale, or (given `sale`) edit one before it starts with the same fields and checks. Checked with the shared `createSaleSchema` before sending (the same schema the
 * admin Worker validates with), and the Worker's own `details[].path` errors land under their fields too.
 */
import { useState } from "preact/hooks";
import { createSaleSchema, type CreateSaleInput, type Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure, fieldErrors } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { Alert, Field, buttonClass } from "../components/ui.tsx";
import { adminApi } from "./admin-api.ts";
import { HotSaleFields, hotSaleInput, initialHotSaleValues, type HotSaleValues } from "./HotSaleAdmin.tsx";
import { tm } from "../i18n/merchant.ts";
import { locale } from "../i18n/i18n.ts";

/** `datetime-local` value (local time, seconds) for an instant. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fromLocalInput(value: string): string | null {
  const ms = new Date(value).getTime();
  return value && !Number.isNaN(ms) ? new Date(ms).toISOString() : null;
}

/** "19.99" → 1999; null when it is not a price. */
export function parsePriceCents(value: string): number | null {
  const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(value);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? "0").padEnd(2, "0"));
}

interface FormValues {
  title: string;
  description: string;
  price: string;
  currency: string;
  stock: string;
  perUserLimit: string;
  startsAt: string;
  endsAt: string;
  paymentWindowSeconds: string;
}

/** Form fields ↔ schema paths (the price is typed in units, sent in cents). */
const FIELD_OF_PATH: Record<string, keyof FormValues> = { priceCents: "price" };

/** The form filled in with a sale's current values (editing before the start). */
function valuesOf(sale: Sale): FormValues {
  return {
    title: sale.title,
    description: sale.description,
    price: (sale.priceCents / 100).toFixed(2),
    currency: sale.currency,
    stock: String(sale.stock),
    perUserLimit: String(sale.perUserLimit),
    startsAt: toLocalInput(Date.parse(sale.startsAt)),
    endsAt: toLocalInput(Date.parse(sale.endsAt)),
    paymentWindowSeconds: String(sale.paymentWindowSeconds),
  };
}

function initialValues(): FormValues {
  const start = Math.ceil((serverNow() + 5 * 60_000) / 60_000) * 60_000;
  return {
    title: "",
    description: "",
    price: "",
    currency: "USD",
    stock: "100",
    perUserLimit: "1",
    startsAt: toLocalInput(start),
    endsAt: toLocalInput(start + 60 * 60_000),
    paymentWindowSeconds: "900",
  };
}

export function buildSaleInput(
  v: FormValues,
  hot: HotSaleValues = initialHotSaleValues(),
): { input?: CreateSaleInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const priceCents = parsePriceCents(v.price);
  if (priceCents === null) errors.price = tm("merchant.create.priceInvalid");
  const startsAt = fromLocalInput(v.startsAt);
  const endsAt = fromLocalInput(v.endsAt);
  if (!startsAt) errors.startsAt = tm("merchant.create.startsAtMissing");
  if (!endsAt) errors.endsAt = tm("merchant.create.endsAtMissing");
  const int = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
  const candidate = {
    title: v.title,
    ...(v.description.trim() ? { description: v.description } : {}),
    priceCents: priceCents ?? -1,
    currency: v.currency.trim().toUpperCase() || undefined,
    stock: int(v.stock),
    perUserLimit: int(v.perUserLimit),
    startsAt: startsAt ?? "",
    endsAt: endsAt ?? "",
    paymentWindowSeconds: int(v.paymentWindowSeconds),
    ...hotSaleInput(hot),
  };
  const parsed = createSaleSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const [path, message] of Object.entries(fieldErrors(parsed.error.issues))) {
      const field = FIELD_OF_PATH[path] ?? path;
      errors[field] ??= humanize(field, message);
    }
  }
  return Object.keys(errors).length || !parsed.success ? { errors } : { input: parsed.data, errors };
}

/** zod's default messages say "Invalid input: expected number, received NaN"; say what to type instead. */
function humanize(field: string, message: string): string {
  if (/received NaN|expected number, received/i.test(message)) return tm("merchant.create.wholeNumber");
  if (/expected int/i.test(message)) return tm("merchant.create.wholeNumber");
  if (field === "title" && /too small|>=1/i.test(message)) return tm("merchant.create.titleMissing");
  if (field === "stock" && /too (small|big)/i.test(message)) return tm("merchant.create.stockRange");
  if (field === "perUserLimit" && /too (small|big)/i.test(message)) return tm("merchant.create.limitRange");
  if (field === "paymentWindowSeconds" && /too (small|big)/i.test(message)) return tm("merchant.create.windowRange");
  if (field === "endsAt" && /after/i.test(message)) return tm("merchant.create.endsAfterStart");
  if (field === "endsAt" && /future/i.test(message)) return tm("merchant.create.endsInFuture");
  if (field === "currency" && /ISO 4217 currency/i.test(message)) return tm("merchant.create.currencyUnknown");
  // Any other check's own words are English (the shared schema's): in Chinese, point at the field instead.
  return locale.value === "en" ? message : tm("merchant.create.checkField");
}

/** The draw and registration fields of a sale being edited (its mode is fixed; hotSaleInput sends it unchanged). */
function hotValuesOf(sale: Sale): HotSaleValues {
  return {
    mode: sale.mode ?? "first_come",
    drawAt: sale.drawAt ? toLocalInput(Date.parse(sale.drawAt)) : "",
    registrationRequired: sale.registrationRequired ?? false,
    challenge: sale.challenge ?? false,
    queue: sale.queue ?? false,
  };
}

export function CreateSaleForm({ onCreated, sale }: { onCreated: (sale: Sale) => void; sale?: Sale }) {
  const editing = sale !== undefined;
  const [values, setValues] = useState<FormValues>(() => (sale ? valuesOf(sale) : initialValues()));
  const [hot, setHot] = useState<HotSaleValues>(() => (sale ? hotValuesOf(sale) : initialHotSaleValues()));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<Sale | null>(null);
  const [busy, setBusy] = useState(false);

  // Two forms may share a page (none today; the prefix keeps their field ids apart if they do).
  const idPrefix = editing ? "edit-sale-" : "sale-";
  const set = (key: keyof FormValues) => (e: Event) =>
    setValues((v) => ({ ...v, [key]: (e.target as HTMLInputElement | HTMLTextAreaElement).value }));

  const startIn = (minutes: number) => {
    const start = serverNow() + minutes * 60_000;
    setValues((v) => ({ ...v, startsAt: toLocalInput(start), endsAt: toLocalInput(start + 60 * 60_000) }));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    setCreated(null);
    const { input, errors: found } = buildSaleInput(values, hot);
    setErrors(found);
    if (!input) {
      const first = Object.keys(found)[0];
      if (first) document.getElementById(`${idPrefix}${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const saved = sale ? await adminApi.updateSale(sale.id, input) : await adminApi.createSale(input);
      setCreated(saved);
      setValues(sale ? valuesOf(saved) : initialValues());
      setHot(sale ? hotValuesOf(saved) : initialHotSaleValues());
      onCreated(saved);
    } catch (err) {
      const fields = err instanceof ApiFailure ? fieldErrors(err.details) : {};
      const mapped: Record<string, string> = {};
      for (const [path, message] of Object.entries(fields)) {
        const field = FIELD_OF_PATH[path] ?? path;
        mapped[field] = humanize(field, message);
      }
      setErrors(mapped);
      setFormError(Object.keys(mapped).length ? tm("merchant.create.fixFields") : describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (
    key: keyof FormValues,
    label: string,
    type: "text" | "number" | "datetime-local" = "text",
    extra: Record<string, unknown> = {},
    hint?: string,
  ) => (
    <Field id={`${idPrefix}${key}`} label={label} error={errors[key]} hint={hint}>
      {(attrs) => (
        <input {...attrs} {...extra} name={key} type={type as "text"} value={values[key]} onInput={set(key)} />
      )}
    </Field>
  );

  return (
    <form
      onSubmit={submit}
      noValidate
      class="space-y-4"
      aria-label={editing ? tm("merchant.edit.heading") : tm("merchant.create.form")}
    >
      {formError && <Alert>{formError}</Alert>}
      {created && (
        <Alert kind="success">
          {editing
            ? tm("merchant.edit.saved", { title: created.title })
            : tm("merchant.create.created", { title: created.title })}
        </Alert>
      )}
      {field("title", tm("merchant.create.title"), "text", { maxLength: 200 })}
      <Field id={`${idPrefix}description`} label={tm("merchant.create.description")} error={errors.description}>
        {(attrs) => (
          <textarea {...attrs} name="description" rows={2} value={values.description} onInput={set("description")} />
        )}
      </Field>
      <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
        {field("price", tm("merchant.create.price"), "text", { inputMode: "decimal", placeholder: "19.99" })}
        {field(
          "currency",
          tm("merchant.create.currency"),
          "text",
          { maxLength: 3, autoCapitalize: "characters" },
          tm("merchant.create.currencyHint"),
        )}
        {field("stock", tm("merchant.create.stock"), "number", { min: 1, max: 1_000_000, inputMode: "numeric" })}
        {field("perUserLimit", tm("merchant.create.perUserLimit"), "number", {
          min: 1,
          max: 100,
          inputMode: "numeric",
        })}
        {field(
          "startsAt",
          tm("merchant.create.startsAt"),
          "datetime-local",
          { step: 1 },
          tm("merchant.create.localTime"),
        )}
        {field("endsAt", tm("merchant.create.endsAt"), "datetime-local", { step: 1 }, tm("merchant.create.localTime"))}
        {field("paymentWindowSeconds", tm("merchant.create.paymentWindow"), "number", {
          min: 1,
          max: 86_400,
          inputMode: "numeric",
        })}
      </div>
      <HotSaleFields values={hot} onChange={setHot} errors={errors} />
      <div class="flex flex-wrap items-center gap-2">
        <span class="text-sm text-slate-800">{tm("merchant.create.startIn")}</span>
        {[1, 5, 60].map((m) => (
          <button key={m} type="button" class={buttonClass.small} onClick={() => startIn(m)}>
            {m === 60 ? tm("merchant.create.oneHour") : tm("merchant.create.minutes", { count: m })}
          </button>
        ))}
      </div>
      <button type="submit" class={buttonClass.primary} disabled={busy}>
        {editing
          ? busy
            ? tm("merchant.edit.saving")
            : tm("merchant.edit.save")
          : busy
            ? tm("merchant.create.creating")
            : tm("merchant.create.submit")}
      </button>
    </form>
  );
}
