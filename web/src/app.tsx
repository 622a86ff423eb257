/**
 * The shell: header, routes, footer. Routes are matched on the path signal (see lib/router.ts).
 *
 * The merchant dashboard, the sign-in forms and the orders pages are chunks of their own, loaded when their
 * route is opened: a shopper's first load of `/` or a sale page carries none of them (scripts/size.ts measures
 * it against the budget).
 */
import type { FunctionComponent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Link, PageHeading } from "./components/ui.tsx";
import { LOCALE_NAME, LOCALE_TAG, locale, setLocale } from "./i18n/i18n.ts";
import { t, type ShopKey } from "./i18n/shop.ts";
import { currentPath, matchRoute, navigate } from "./lib/router.ts";
import { currentUser, logout } from "./lib/shop.ts";
import { Home } from "./pages/Home.tsx";
import { SalePage } from "./pages/SalePage.tsx";
import { VerifyDrawPage } from "./draw/VerifyDrawPage.tsx";

interface Route {
  pattern: string;
  title: Extract<ShopKey, `title.${string}`>;
  render: (params: Record<string, string>) => preact.JSX.Element;
}

/**
 * A page that is a chunk of its own: fetched on first use ("Loading…" meanwhile), kept once loaded. The
 * shopper's first load (`/`, a sale page) carries only what those pages need.
 */
function lazyPage<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | null = null;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (Page) return;
      load().then(
        (component) => {
          loaded = component;
          setPage(() => component);
        },
        () => setFailed(true),
      );
    }, []);
    if (Page) return <Page {...props} />;
    return <p class="text-slate-700">{failed ? t("error.NETWORK") : t("loading")}</p>;
  };
}

const AdminPage = lazyPage<{ saleId?: string }>(() => import("./admin/AdminPage.tsx").then((m) => m.AdminPage));
const AuthForm = lazyPage<{ mode: "signin" | "signup" }>(() => import("./pages/Auth.tsx").then((m) => m.AuthForm));
const OrdersPage = lazyPage<object>(() => import("./pages/Orders.tsx").then((m) => m.OrdersPage));
const OrderPage = lazyPage<{ id: string }>(() => import("./pages/Orders.tsx").then((m) => m.OrderPage));

const ROUTES: Route[] = [
  { pattern: "/", title: "title.home", render: () => <Home /> },
  { pattern: "/sales/:id", title: "title.sale", render: (p) => <SalePage key={p.id} id={p.id} /> },
  { pattern: "/sales/:id/draw", title: "title.verifyDraw", render: (p) => <VerifyDrawPage key={p.id} id={p.id} /> },
  { pattern: "/orders", title: "title.orders", render: () => <OrdersPage /> },
  { pattern: "/orders/:id", title: "title.order", render: (p) => <OrderPage key={p.id} id={p.id} /> },
  { pattern: "/signin", title: "title.signIn", render: () => <AuthForm key="signin" mode="signin" /> },
  { pattern: "/signup", title: "title.signUp", render: () => <AuthForm key="signup" mode="signup" /> },
  { pattern: "/admin", title: "title.admin", render: () => <AdminPage /> },
  {
    pattern: "/admin/sales/:id",
    title: "title.adminSale",
    render: (p) => <AdminPage key={p.id} saleId={p.id} />,
  },
];

/** Merchants' pages: no shopper account links there (the dashboard has its own token). */
export function isMerchantPath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/");
}

/** One button: the other language, named in itself, remembered for the next visit. */
function LanguageSwitcher() {
  const other = locale.value === "en" ? "zh" : "en";
  return (
    <button
      type="button"
      class="rounded-md border border-red-300/60 px-2 py-1 text-sm font-semibold whitespace-nowrap text-red-50 hover:bg-red-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-white"
      onClick={() => void setLocale(other).catch(() => {})}
      data-testid="language-switcher"
    >
      <span class="sr-only">{t("lang.switch")} </span>
      <span lang={LOCALE_TAG[other]}>{LOCALE_NAME[other]}</span>
    </button>
  );
}

export function resolveRoute(path: string): { route: Route | null; params: Record<string, string> } {
  const normalized = path.length > 1 ? path.replace(/\/+$/, "") : path;
  for (const route of ROUTES) {
    const params = matchRoute(route.pattern, normalized);
    if (params) return { route, params };
  }
  return { route: null, params: {} };
}

function NavLink({ href, children }: { href: string; children: string }) {
  const active = currentPath.value === href || (href !== "/" && currentPath.value.startsWith(href + "/"));
  return (
    <Link
      href={href}
      aria-current={active ? "page" : undefined}
      class={`rounded-md px-2 py-1.5 text-sm font-semibold whitespace-nowrap focus-visible:outline focus-visible:outline-2 focus-visible:outline-white ${
        active ? "bg-red-900 text-white" : "text-red-50 hover:bg-red-800"
      }`}
    >
      {children}
    </Link>
  );
}

function Header() {
  const merchant = isMerchantPath(currentPath.value);
  const user = merchant ? undefined : currentUser.value;
  return (
    <header class="bg-red-700 text-white">
      <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3">
        <Link href="/" class="flex items-center gap-2 text-lg font-extrabold tracking-tight text-white">
          <img src="/icons/icon.svg" alt="" width="28" height="28" class="rounded-md" />
          {t("app.name")}
        </Link>
        <nav aria-label={t("nav.label")} class="flex flex-wrap items-center gap-1">
          <NavLink href="/">{t("nav.sales")}</NavLink>
          {user && <NavLink href="/orders">{t("nav.orders")}</NavLink>}
          {user === null && <NavLink href="/signin">{t("nav.signIn")}</NavLink>}
          {user === null && <NavLink href="/signup">{t("nav.signUp")}</NavLink>}
          {user && (
            <span class="hidden max-w-40 truncate px-2 text-sm text-red-50 sm:inline" title={user.username}>
              {user.username}
            </span>
          )}
          {user && (
            <button
              type="button"
              class="rounded-md px-2 py-1.5 text-sm font-semibold whitespace-nowrap text-red-50 hover:bg-red-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-white"
              onClick={() =>
                void logout().then(
                  () => navigate("/"),
                  () => {},
                )
              }
            >
              {t("nav.signOut")} <span class="sr-only">{user.username}</span>
            </button>
          )}
          <LanguageSwitcher />
        </nav>
      </div>
    </header>
  );
}

export function App() {
  const path = currentPath.value;
  const { route, params } = resolveRoute(path);
  const first = useRef(true);

  const lang = locale.value;

  // The title follows navigation and the language (a page may set a more specific one, e.g. a sale's title).
  useEffect(() => {
    document.title = t("app.titleSuffix", { title: t(route ? route.title : "title.notFound") });
  }, [path, lang]);

  // Focus follows navigation (not on first load: the browser starts at the top already).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("[data-page-heading]");
    heading?.focus({ preventScroll: true });
  }, [path]);

  return (
    <div class="flex min-h-screen flex-col bg-slate-50 text-slate-900">
      <a
        href="#main"
        class="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-10 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-red-800"
      >
        {t("app.skip")}
      </a>
      <Header />
      <main id="main" class="mx-auto w-full max-w-6xl flex-1 px-4 py-6">
        {route ? (
          route.render(params)
        ) : (
          <section class="space-y-4">
            <PageHeading>{t("notFound.heading")}</PageHeading>
            <Link href="/" class="font-semibold text-red-800 underline">
              {t("notFound.back")}
            </Link>
          </section>
        )}
      </main>
      <footer class="border-t border-slate-300 bg-white">
        <div class="mx-auto flex max-w-6xl flex-wrap justify-between gap-2 px-4 py-4 text-sm text-slate-700">
          <span>{t("app.footer")}</span>
          <Link href="/admin" class="font-semibold text-slate-800 underline underline-offset-2">
            {t("app.merchants")}
          </Link>
        </div>
      </footer>
    </div>
  );
}
