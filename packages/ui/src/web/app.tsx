import { useEffect, useState } from 'react'
import { Link, Route, Switch } from 'wouter'
import { api, ok } from './api.js'
import { LiveProvider, useLiveConnected } from './live.js'
import { AssetPage } from './pages/asset-page.js'
import { AssetsPage } from './pages/assets-page.js'
import { Login } from './pages/login.js'
import { PipelinesPage } from './pages/pipelines-page.js'
import { PoolsPage } from './pages/pools-page.js'
import { RunPage } from './pages/run-page.js'
import { RunsPage } from './pages/runs-page.js'

export function App() {
  const [session, setSession] = useState<{ tokenRequired: boolean; authenticated: boolean }>()
  useEffect(() => {
    void ok(api.session.$get()).then(setSession)
  }, [])
  if (!session) return null
  if (!session.authenticated)
    return <Login onLoggedIn={() => setSession({ ...session, authenticated: true })} />
  return (
    <LiveProvider>
      <header className="top">
        <Link href="/" className="brand">
          Podline
        </Link>
        <nav>
          <Link href="/">Runs</Link>
          <Link href="/pipelines">Pipelines</Link>
          <Link href="/assets">Assets</Link>
          <Link href="/pools">Pools</Link>
        </nav>
        <LiveBadge />
      </header>
      <main>
        <Switch>
          <Route path="/" component={RunsPage} />
          <Route path="/runs/:id">{(params) => <RunPage id={params.id} />}</Route>
          <Route path="/pipelines" component={PipelinesPage} />
          <Route path="/assets" component={AssetsPage} />
          {/* The router decodes all but '/' (%2F), which an asset's name may hold. */}
          <Route path="/assets/:name">{(params) => <AssetPage name={pathSegment(params.name)} />}</Route>
          <Route path="/pools" component={PoolsPage} />
          <Route>
            <p>There is no such page.</p>
          </Route>
        </Switch>
      </main>
    </LiveProvider>
  )
}

/** A path segment as the router leaves it, with its %2F decoded too; as it is when it is no valid escape. */
function pathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function LiveBadge() {
  const connected = useLiveConnected()
  return (
    <span className={connected ? 'live on' : 'live'} data-testid="live">
      {connected ? 'live' : 'reconnecting…'}
    </span>
  )
}
