// Gatehold demo app: seed 000 (Movies/Devices), seed 002 (Unicorns) and seed 004 (wish list) in one page.
//
// Logging in and getting tokens is @auth0/auth0-spa-js, unchanged, against Gatehold's identity provider:
//   * domain "http://localhost:<idp port>" without a trailing slash and no `issuer` option (the SDK
//     appends "/" to compute the expected `iss`);
//   * useRefreshTokens + cacheLocation "localstorage": tokens and refresh tokens survive a page reload,
//     so a person stays logged in;
//   * one access token per API (audience), fetched with getTokenSilently({authorizationParams: {audience,
//     scope}}). An audience the app has no refresh token for is fetched with the SDK's hidden iframe
//     (prompt=none, response_mode=web_message; useRefreshTokensFallback), and if the identity provider
//     needs the person again, with a redirect that comes back and finishes the click.
// Every call to the gateway is cross-origin, so the APIs' CORS settings are exercised.
"use strict";

const RESUME_KEY = "gatehold.demo.resume"; // sessionStorage: a click to finish after a login redirect
const INTERACTIVE_ERRORS = new Set([
  "login_required", "consent_required", "interaction_required", "missing_refresh_token", "timeout",
]);

let config;        // /config.json
let client;        // the Auth0Client
const tokens = {}; // audience -> decoded access-token payload, for the "Granted scopes" table

// ---------------------------------------------------------------------------------------------------
// Start-up

window.addEventListener("DOMContentLoaded", () => {
  start().catch((e) => showAppError("The app could not start", e));
});

async function start() {
  config = await (await fetch("/config.json")).json();
  text("idp-url", config.domain);
  text("footer-idp", config.domain);
  text("footer-gateway", config.gatewayUrl);
  text("footer-client", config.clientId);
  wireButtons();
  loadWishList(); // open: no token needed

  if (typeof window.auth0 === "undefined" || !window.auth0.createAuth0Client) {
    setState("unavailable");
    showAppError(config.sdkProblem || "The @auth0/auth0-spa-js bundle did not load.");
    return;
  }

  // createAuth0Client() is `new Auth0Client()` + checkSession(); split so that an unreachable identity
  // provider is reported instead of stopping the page.
  client = new window.auth0.Auth0Client(clientOptions());
  const query = new URLSearchParams(window.location.search);
  if ((query.has("code") || query.has("error")) && query.has("state")) {
    await finishLoginRedirect();
  } else {
    if (window.location.pathname === "/callback") window.history.replaceState({}, document.title, "/");
    try {
      await client.checkSession();
    } catch (e) {
      showAppError("Could not renew the session with the identity provider", e);
    }
  }

  if (await client.isAuthenticated()) {
    await showLoggedIn();
    await resumeAfterRedirect();
  } else {
    setState("logged-out");
  }
}

function clientOptions() {
  // One scope string per audience: the OIDC scopes plus that API's own permissions (seed 002: "you must
  // request all scopes"; the identity provider grants the ones the person's roles allow).
  const scopeByAudience = { default: config.scope };
  for (const api of config.apis) {
    scopeByAudience[api.audience] = scopeFor(api.audience);
  }
  return {
    domain: config.domain,
    clientId: config.clientId,
    useRefreshTokens: true,
    useRefreshTokensFallback: true,
    cacheLocation: "localstorage",
    authorizeTimeoutInSeconds: 10,
    authorizationParams: {
      redirect_uri: config.redirectUri,
      audience: config.loginAudience,
      scope: scopeByAudience,
    },
  };
}

async function finishLoginRedirect() {
  try {
    const result = await client.handleRedirectCallback();
    const resume = result.appState && result.appState.resume;
    if (resume) sessionStorage.setItem(RESUME_KEY, JSON.stringify(resume));
  } catch (e) {
    showAppError("Login failed", e);
  } finally {
    window.history.replaceState({}, document.title, "/");
  }
}

async function showLoggedIn() {
  const user = await client.getUser();
  setState("logged-in");
  text("session-user", user.name || user.email || user.sub);
  text("profile-name", user.name || "");
  text("profile-email", user.email || "");
  text("profile-sub", user.sub || "");
  text("profile-json", JSON.stringify(user, null, 2));
  const picture = document.getElementById("profile-picture");
  if (user.picture) {
    picture.src = user.picture;
    picture.hidden = false;
  }
  // The login's own token is in the cache: show its scopes straight away.
  try {
    await tokenFor(config.loginAudience, { interactive: false });
  } catch (e) {
    // shown when an API button is pressed
  }
}

async function resumeAfterRedirect() {
  const raw = sessionStorage.getItem(RESUME_KEY);
  if (!raw) return;
  sessionStorage.removeItem(RESUME_KEY);
  const form = sessionStorage.getItem(RESUME_KEY + ".form");
  sessionStorage.removeItem(RESUME_KEY + ".form");
  if (form) {
    const item = JSON.parse(form);
    for (const field of ["name", "description", "url"]) {
      document.getElementById("wish-" + field).value = item[field] || "";
    }
  }
  const action = ACTIONS[JSON.parse(raw)];
  if (action) await action({ interactive: false });
}

// ---------------------------------------------------------------------------------------------------
// Buttons

const ACTIONS = {
  movie: (opts) => callStreaming("movie", opts),
  device: (opts) => callStreaming("device", opts),
  "get-unicorn": (opts) => callUnicorns("get-unicorn", opts),
  "list-unicorns": (opts) => callUnicorns("list-unicorns", opts),
  "add-wish": (opts) => addWish(opts),
  scopes: (opts) => fetchAllTokens(opts),
};

function wireButtons() {
  onClick("btn-login", () => login());
  for (const id of ["btn-login-amazon", "btn-login-google", "btn-login-database"]) {
    onClick(id, (e) => login(e.currentTarget.dataset.connection));
  }
  onClick("btn-logout", () => {
    for (const key of Object.keys(tokens)) delete tokens[key];
    client.logout({ logoutParams: { returnTo: config.spaUrl } });
  });
  onClick("btn-movie", () => ACTIONS.movie({ interactive: true }));
  onClick("btn-device", () => ACTIONS.device({ interactive: true }));
  onClick("btn-get-unicorn", () => ACTIONS["get-unicorn"]({ interactive: true }));
  onClick("btn-list-unicorns", () => ACTIONS["list-unicorns"]({ interactive: true }));
  onClick("btn-list-wishes", () => loadWishList());
  onClick("btn-scopes", () => ACTIONS.scopes({ interactive: true }));
  document.getElementById("wish-form").addEventListener("submit", (e) => {
    e.preventDefault();
    ACTIONS["add-wish"]({ interactive: true });
  });
}

// The SDK picks the per-audience scope by the audience passed to the call, not the configured one, so
// the login names its audience and scope explicitly.
function login(connection) {
  const audience = config.loginAudience;
  const authorizationParams = { audience, scope: scopeFor(audience) };
  if (connection) authorizationParams.connection = connection;
  return client.loginWithRedirect({ authorizationParams });
}

// seed 000: the page shows the API's message, or "UnAuthorized" when the gateway refuses.
async function callStreaming(callId, opts) {
  const { api, call } = findCall(callId);
  await runCall(callId, opts, async () => {
    const token = await tokenFor(api.audience, opts, callId);
    const response = await fetch(config.gatewayUrl + call.path, { headers: bearer(token) });
    const body = await readBody(response);
    if (response.ok) return { status: "ok", response, body, headline: messageOf(body) };
    if (response.status === 401 || response.status === 403) {
      return { status: "refused", response, body, headline: "UnAuthorized" };
    }
    return { status: "error", response, body, headline: "Error " + response.status };
  });
}

// seed 002: the page shows the JSON, or the refusal (401 without a valid token, 403 without the scope).
async function callUnicorns(callId, opts) {
  const { api, call } = findCall(callId);
  await runCall(callId, opts, async () => {
    const token = await tokenFor(api.audience, opts, callId);
    let url = config.gatewayUrl + call.path;
    if (callId === "get-unicorn") {
      url += "?name=" + encodeURIComponent(document.getElementById("unicorn-name").value);
    }
    const response = await fetch(url, { headers: bearer(token) });
    const body = await readBody(response);
    if (response.ok) return { status: "ok", response, body, headline: pretty(body) };
    return { status: refusedOrError(response), response, body, headline: refusal(response, body) };
  });
}

// seed 004: anyone may read the list; adding an item needs a token for the wish-list API.
async function loadWishList() {
  const { call } = findCall("list-wishes");
  await runCall("list-wishes", {}, async () => {
    const response = await fetch(config.gatewayUrl + call.path);
    const body = await readBody(response);
    if (!response.ok) return { status: refusedOrError(response), response, body, headline: refusal(response, body) };
    const items = Array.isArray(body) ? body : (body && (body.Items || body.items)) || [];
    renderWishes(items);
    return { status: "ok", response, headline: items.length + (items.length === 1 ? " item" : " items") };
  });
}

async function addWish(opts) {
  const { api, call } = findCall("add-wish");
  const item = {
    name: value("wish-name"),
    description: value("wish-description"),
    url: value("wish-url"),
  };
  await runCall("add-wish", opts, async () => {
    const token = await tokenFor(api.audience, opts, "add-wish", item);
    const response = await fetch(config.gatewayUrl + call.path, {
      method: "POST",
      headers: { ...bearer(token), "Content-Type": "application/json" },
      body: JSON.stringify(item),
    });
    const body = await readBody(response);
    if (!response.ok) return { status: refusedOrError(response), response, body, headline: refusal(response, body) };
    document.getElementById("wish-form").reset();
    await loadWishList();
    return { status: "ok", response, body, headline: "Added " + item.name + (body && body.id ? " (id " + body.id + ")" : "") };
  });
}

async function fetchAllTokens(opts) {
  for (const api of config.apis) {
    try {
      await tokenFor(api.audience, opts, "scopes");
    } catch (e) {
      showAppError("No token for " + api.audience, e);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Tokens

// An access token for `audience`. When the identity provider needs the person (no session, consent),
// an interactive call logs in again with a redirect and finishes `resumeId` when it comes back.
async function tokenFor(audience, opts, resumeId, formValues) {
  const scope = scopeFor(audience);
  try {
    const token = await client.getTokenSilently({ authorizationParams: { audience, scope } });
    tokens[audience] = decodePayload(token);
    renderScopes();
    return token;
  } catch (e) {
    if (opts.interactive && resumeId && INTERACTIVE_ERRORS.has(e.error)) {
      if (formValues) sessionStorage.setItem(RESUME_KEY + ".form", JSON.stringify(formValues));
      await client.loginWithRedirect({
        authorizationParams: { audience, scope },
        appState: { resume: resumeId },
      });
      throw new Redirecting();
    }
    throw e;
  }
}

class Redirecting extends Error {}

function decodePayload(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch (e) {
    return { note: "not a JWT" };
  }
}

function renderScopes() {
  const body = document.getElementById("scopes-body");
  body.replaceChildren();
  for (const [audience, claims] of Object.entries(tokens)) {
    const row = document.createElement("tr");
    row.dataset.audience = audience;
    row.dataset.testid = "scope-row";
    const permissions = Array.isArray(claims.permissions) && claims.permissions.length
      ? "(permissions: " + claims.permissions.join(" ") + ")" : "";
    const scope = [claims.scope || "", permissions].filter(Boolean).join(" ");
    const expires = claims.exp ? new Date(claims.exp * 1000).toLocaleTimeString() : "";
    for (const cell of [audience, scope || "(none)", expires]) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.appendChild(td);
    }
    body.appendChild(row);
  }
}

// ---------------------------------------------------------------------------------------------------
// Results

// Runs one call and shows its outcome in #result-<id> (headline) and #result-<id>-detail (HTTP status
// and body). data-status is "busy", "ok", "refused" or "error"; data-http-status is the HTTP status.
async function runCall(callId, opts, fn) {
  const out = document.getElementById("result-" + callId);
  const detail = document.getElementById("result-" + callId + "-detail");
  out.dataset.status = "busy";
  out.dataset.httpStatus = "";
  out.textContent = "…";
  detail.textContent = "";
  try {
    const result = await fn();
    out.dataset.status = result.status;
    out.dataset.httpStatus = String(result.response.status);
    out.textContent = result.headline;
    detail.textContent = "HTTP " + result.response.status + " " + (result.response.statusText || "") +
      (result.body !== undefined && result.body !== "" ? " · " + oneLine(result.body) : "");
  } catch (e) {
    if (e instanceof Redirecting) return;
    out.dataset.status = "error";
    if (e instanceof TypeError) {
      // fetch() rejects with a TypeError when the request never completes or CORS blocks the answer
      out.textContent = "Network or CORS error";
      detail.textContent = "The browser could not read the gateway's answer (" + e.message + ").";
    } else {
      out.textContent = "Could not get a token";
      detail.textContent = describeError(e);
    }
  }
}

async function readBody(response) {
  const raw = await response.text();
  try {
    return JSON.parse(raw);
  } catch (e) {
    return raw;
  }
}

function messageOf(body) {
  if (typeof body === "string") return body;
  if (body && typeof body.message === "string") return body.message;
  return pretty(body);
}

function refusedOrError(response) {
  return response.status === 401 || response.status === 403 ? "refused" : "error";
}

function refusal(response, body) {
  const message = body && typeof body === "object" && body.message ? body.message : pretty(body);
  return "Refused: " + response.status + " " + message;
}

function renderWishes(items) {
  const list = document.getElementById("wish-list");
  list.replaceChildren();
  for (const item of items) {
    const li = document.createElement("li");
    li.dataset.testid = "wish-item";
    const name = document.createElement(item.url ? "a" : "strong");
    name.textContent = item.name || "(no name)";
    if (item.url) {
      name.href = item.url;
      name.rel = "noopener noreferrer";
      name.target = "_blank";
    }
    li.appendChild(name);
    if (item.description) li.append(" — " + item.description);
    list.appendChild(li);
  }
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function setState(state) {
  document.body.dataset.state = state;
}

function showAppError(message, error) {
  const box = document.getElementById("app-error");
  box.textContent = error ? message + ": " + describeError(error) : message;
  box.hidden = false;
}

function describeError(e) {
  if (e && e.error) return e.error + (e.error_description ? ": " + e.error_description : "");
  return e && e.message ? e.message : String(e);
}

function findCall(callId) {
  for (const api of config.apis) {
    const call = api.calls.find((c) => c.id === callId);
    if (call) return { api, call };
  }
  throw new Error("unknown call " + callId);
}

// What the app asks for with a token for `audience`: the OIDC scopes plus that API's permissions.
function scopeFor(audience) {
  const api = config.apis.find((a) => a.audience === audience);
  return joinScopes(config.scope, api ? api.scope : "");
}

function joinScopes(...parts) {
  return Array.from(new Set(parts.join(" ").split(/\s+/).filter(Boolean))).join(" ");
}

function bearer(token) {
  return { Authorization: "Bearer " + token };
}

function oneLine(body) {
  const s = typeof body === "string" ? body : JSON.stringify(body);
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
}

function pretty(body) {
  return typeof body === "string" ? body : JSON.stringify(body, null, 2);
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function value(id) {
  return document.getElementById(id).value;
}

function onClick(id, handler) {
  document.getElementById(id).addEventListener("click", (e) => {
    Promise.resolve(handler(e)).catch((err) => showAppError("Something went wrong", err));
  });
}
