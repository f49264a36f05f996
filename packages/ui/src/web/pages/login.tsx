import { useState } from 'react'
import { api, ok } from '../api.js'

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string>()
  return (
    <form
      className="login"
      onSubmit={(e) => {
        e.preventDefault()
        ok(api.login.$post({ json: { token } })).then(onLoggedIn, (err: Error) => setError(err.message))
      }}
    >
      <h1>Podline</h1>
      <label>
        UI token
        <input type="password" value={token} onChange={(e) => setToken(e.target.value)} />
      </label>
      <button type="submit">Log in</button>
      {error && <p className="error">{error}</p>}
    </form>
  )
}
