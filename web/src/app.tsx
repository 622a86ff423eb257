/** The shell: header, routes, footer. Routes are matched on the path signal (see lib/router.ts). */
import { useEffect, useRef } from "preact/hooks";
import { AdminPage } from "./admin/AdminPage.tsx";
import { Link, PageHeading } from "./components/ui.tsx";
import { currentPath, matchRoute, navigate } from "./lib/router.ts";
import { currentUser, logout } from "./lib/shop.ts";
import { AuthForm } from "./pages/Auth.tsx";
import { Home } from "./pages/Home.tsx";
import { OrderPage, OrdersPage } from "./pages/Orders.tsx";
import { SalePage } from "./pages/SalePage.tsx";
import { VerifyDrawPage } from "./draw/VerifyDrawPage.tsx";

interface Route {
  pattern: string;
  title: string;
  render: (params: Record<string, string>) => preact.JSX.Element;
}

const ROUTES: Route[] = [
  { pattern: "/", title: "Flash sales", render: () => <Home /> },
  { pattern: "/sales/:id", title: "Sale", render: (p) => <SalePage key={p.id} id={p.id} /> },
  { pattern: "/sales/:id/draw", title: "Verify the draw", render: (p) => <VerifyDrawPage key={p.id} id={p.id} /> },
  { pattern: "/orders", title: "My orders", render: () => <OrdersPage /> },
  { pattern: "/orders/:id", title: "Order", render: (p) => <OrderPage key={p.id} id={p.id} /> },
  { pattern: "/signin", title: "Sign in", render: () => <AuthForm key="signin" mode="signin" /> },
  { pattern: "/signup", title: "Sign up", render: () => <AuthForm key="signup" mode="signup" /> },
  { pattern: "/admin", title: "Merchant dashboard", render: () => <AdminPage /> },
  { pattern: "/admin/sales/:id", title: "Sale — dashboard", render: (p) => <AdminPage key={p.id} saleId={p.id} /> },
];

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
  const user = currentUser.value;
  return (
    <header class="bg-red-700 text-white">
      <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3">
        <Link href="/" class="flex items-center gap-2 text-lg font-extrabold tracking-tight text-white">
          <img src="/icons/icon.svg" alt="" width="28" height="28" class="rounded-md" />
          MiniShop
        </Link>
        <nav aria-label="Main" class="flex flex-wrap items-center gap-1">
          <NavLink href="/">Sales</NavLink>
          {user && <NavLink href="/orders">My orders</NavLink>}
          {user === null && <NavLink href="/signin">Sign in</NavLink>}
          {user === null && <NavLink href="/signup">Sign up</NavLink>}
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
              Sign out <span class="sr-only">{user.username}</span>
            </button>
          )}
        </nav>
      </div>
    </header>
  );
}

export function App() {
  const path = currentPath.value;
  const { route, params } = resolveRoute(path);
  const first = useRef(true);

  // Title and focus follow navigation (not on first load: the browser starts at the top already).
  useEffect(() => {
    document.title = route ? `${route.title} — MiniShop` : "Not found — MiniShop";
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
        Skip to content
      </a>
      <Header />
      <main id="main" class="mx-auto w-full max-w-6xl flex-1 px-4 py-6">
        {route ? (
          route.render(params)
        ) : (
          <section class="space-y-4">
            <PageHeading>Page not found</PageHeading>
            <Link href="/" class="font-semibold text-red-800 underline">
              See all sales
            </Link>
          </section>
        )}
      </main>
      <footer class="border-t border-slate-300 bg-white">
        <div class="mx-auto flex max-w-6xl flex-wrap justify-between gap-2 px-4 py-4 text-sm text-slate-700">
          <span>MiniShop Edge — fair flash sales</span>
          <Link href="/admin" class="font-semibold text-slate-800 underline underline-offset-2">
            Merchants
          </Link>
        </div>
      </footer>
    </div>
  );
}
