/**
 * `GET /.well-known/ory/webauthn.js`: the browser half of the WebAuthn and passkey methods, feature-equivalent to
 * Kratos's x/webauthnx/js/webauthn.js. It reads the options from the trigger's `value` (or `passkey_challenge` /
 * `passkey_create_data`), runs the ceremony, writes the credential JSON (every binary field base64url) into the
 * hidden result input and submits that input's form — without a `method` field, so the server picks the method from
 * the non-empty result field. Every function is published under the `ory…` and the legacy `__ory…` names, then
 * `oryWebAuthnInitialized` is dispatched.
 *
 * Differences from Kratos's file, all lenient: `allowCredentials` may be missing in `oryWebAuthnLogin` options, and a
 * missing user handle is sent as "".
 */
import { createHash } from 'node:crypto';
import { scriptNode, type UiScriptNode } from '../../ui/node.ts';
import type { MethodRoute } from '../method.ts';

export const WEBAUTHN_SCRIPT_PATH = '/.well-known/ory/webauthn.js';
export const WEBAUTHN_SCRIPT_CONTENT_TYPE = 'text/javascript; charset=UTF-8';

export const WEBAUTHN_JS = `// idflow: WebAuthn and passkey ceremonies for Ory Kratos-style forms.
;(function () {
  "use strict"
  if (typeof window === "undefined" || !window) {
    return
  }
  if (!window.PublicKeyCredential) {
    console.log("This browser does not support WebAuthn!")
    return
  }
  if (window.__oryWebAuthnInitialized) {
    return
  }

  function decode(value) {
    var text = String(value).replace(/-/g, "+").replace(/_/g, "/")
    while (text.length % 4 !== 0) {
      text += "="
    }
    var binary = atob(text)
    var bytes = new Uint8Array(binary.length)
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i)
    }
    return bytes
  }

  function encode(buffer) {
    var bytes = buffer ? new Uint8Array(buffer) : new Uint8Array(0)
    var binary = ""
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i])
    }
    return btoa(binary).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "")
  }

  function decodeDescriptors(list) {
    if (!Array.isArray(list)) {
      return list
    }
    return list.map(function (descriptor) {
      return Object.assign({}, descriptor, { id: decode(descriptor.id) })
    })
  }

  function requestOptions(publicKey) {
    publicKey.challenge = decode(publicKey.challenge)
    if (publicKey.user && publicKey.user.id) {
      publicKey.user.id = decode(publicKey.user.id)
    }
    if (publicKey.allowCredentials) {
      publicKey.allowCredentials = decodeDescriptors(publicKey.allowCredentials)
    }
    return publicKey
  }

  function creationOptions(publicKey) {
    publicKey.challenge = decode(publicKey.challenge)
    publicKey.user.id = decode(publicKey.user.id)
    if (publicKey.excludeCredentials) {
      publicKey.excludeCredentials = decodeDescriptors(publicKey.excludeCredentials)
    }
    return publicKey
  }

  // The response fields of each ceremony's credential, as webauthn.js posts them (every one base64url).
  var responseFields = {
    get: ["authenticatorData", "clientDataJSON", "signature", "userHandle"],
    create: ["attestationObject", "clientDataJSON"],
  }

  function credentialJSON(kind, credential) {
    var response = {}
    responseFields[kind].forEach(function (field) {
      response[field] = encode(credential.response[field])
    })
    return JSON.stringify({
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: response,
    })
  }

  function byName(name) {
    return document.getElementsByName(name)[0]
  }

  // The elements of these names, by name; none (after console[level](message)) when one is missing.
  function namedFields(names, level, message) {
    var found = {}
    names.forEach(function (name) {
      found[name] = byName(name)
    })
    if (names.some(function (name) { return !found[name] })) {
      console[level](message)
      return undefined
    }
    return found
  }

  function abortConditionalUI() {
    if (window.abortPasskeyConditionalUI) {
      window.abortPasskeyConditionalUI.abort("Canceling Passkey autocomplete to complete trigger-based passkey login.")
      window.abortPasskeyConditionalUI = undefined
    }
  }

  // Runs navigator.credentials.get or .create ("get", "create"), writes the credential JSON into the result field (an
  // element, or a selector looked up once the credential is there) and submits the form around anchor.
  function submitCredential(kind, opt, result, anchor) {
    return navigator.credentials[kind](opt).then(function (credential) {
      var field = typeof result === "string" ? document.querySelector(result) : result
      field.value = credentialJSON(kind, credential)
      anchor.closest("form").submit()
    })
  }

  // oryWebAuthnLogin and oryWebAuthnRegistration: the options given, else the trigger's value; errors are alerted.
  function triggerCeremony(kind, options, resultSelector, triggerSelector) {
    if (!window.PublicKeyCredential) {
      alert("This browser does not support WebAuthn!")
    }
    var trigger = document.querySelector(triggerSelector)
    var opt = options || JSON.parse(trigger.value)
    opt.publicKey = kind === "get" ? requestOptions(opt.publicKey) : creationOptions(opt.publicKey)
    submitCredential(kind, opt, resultSelector, trigger).catch(function (err) {
      alert(err)
    })
  }

  function oryWebAuthnLogin(options, resultSelector, triggerSelector) {
    triggerCeremony("get", options, resultSelector || '*[name="webauthn_login"]', triggerSelector || '*[name="webauthn_login_trigger"]')
  }

  function oryWebAuthnRegistration(options, resultSelector, triggerSelector) {
    triggerCeremony("create", options, resultSelector || '*[name="webauthn_register"]', triggerSelector || '*[name="webauthn_register_trigger"]')
  }

  var PASSKEY_LOGIN_FIELDS = ["passkey_challenge", "passkey_login"]
  var PASSKEY_LOGIN_FIELDS_MISSING = "Unable to initialize WebAuthn / Passkey autocomplete because one or more required form fields are missing."

  // A passkey login's request options (passkey_challenge's, decoded); a pending autocomplete request is aborted.
  function passkeyRequestOptions(fields) {
    var publicKey = requestOptions(JSON.parse(fields.passkey_challenge.value).publicKey)
    abortConditionalUI()
    return publicKey
  }

  async function oryPasskeyLoginAutocompleteInit() {
    var fields = namedFields(PASSKEY_LOGIN_FIELDS.concat(["identifier"]), "error", PASSKEY_LOGIN_FIELDS_MISSING)
    if (!fields) {
      return
    }
    if (!window.PublicKeyCredential || !window.PublicKeyCredential.isConditionalMediationAvailable || window.Cypress) {
      console.log("This browser does not support Passkey / WebAuthn!")
      return
    }
    var available = await window.PublicKeyCredential.isConditionalMediationAvailable()
    if (!available) {
      console.log("This browser does not support WebAuthn Conditional Mediation!")
      return
    }
    var publicKey = passkeyRequestOptions(fields)
    var controller = new AbortController()
    window.abortPasskeyConditionalUI = controller
    var opt = { publicKey: publicKey, mediation: "conditional", signal: controller.signal }
    submitCredential("get", opt, fields.passkey_login, fields.passkey_login).catch(function (err) {
      console.log(err)
    })
  }

  function oryPasskeyLogin() {
    var fields = namedFields(PASSKEY_LOGIN_FIELDS, "error", PASSKEY_LOGIN_FIELDS_MISSING)
    if (!fields) {
      return
    }
    if (!window.PublicKeyCredential) {
      console.log("This browser does not support WebAuthn!")
      return
    }
    var opt = { publicKey: passkeyRequestOptions(fields) }
    return submitCredential("get", opt, fields.passkey_login, fields.passkey_login).catch(function (err) {
      if (err instanceof DOMException && err.name === "SecurityError") {
        console.error("A security exception occurred while loading Passkeys / WebAuthn. The original error message is: " + err.message)
      } else {
        console.error("[Ory/Passkey] An unknown error occurred while getting passkey credentials", err)
      }
      // Offer autocomplete again.
      return oryPasskeyLoginAutocompleteInit()
    })
  }

  // passkey_create_data and the result field, for oryPasskeyRegistration and oryPasskeySettingsRegistration.
  function passkeyCreateFields(result, caller) {
    return namedFields(["passkey_create_data", result], "debug", "__" + caller + ": mandatory fields not found")
  }

  // A passkey registration: the creation options decoded, the credential into the result field; errors are logged.
  function createPasskey(opt, resultEl) {
    opt.publicKey = creationOptions(opt.publicKey)
    submitCredential("create", opt, resultEl, resultEl).catch(function (err) {
      console.error(err)
    })
  }

  function oryPasskeyRegistration() {
    var fields = passkeyCreateFields("passkey_register", "oryPasskeyRegistration")
    if (!fields) {
      return
    }
    var createData = JSON.parse(fields.passkey_create_data.value)
    var fieldNames = Array.isArray(createData.displayNameFieldNames) && createData.displayNameFieldNames.length > 0
      ? createData.displayNameFieldNames
      : [createData.displayNameFieldName]
    var form = fields.passkey_create_data.closest("form")
    var displayName = ""
    for (var i = 0; i < fieldNames.length; i++) {
      if (!fieldNames[i]) {
        continue
      }
      var field = form.querySelector("[name='" + fieldNames[i] + "']")
      if (field && field.value) {
        displayName = field.value
        break
      }
    }
    var opt = createData.credentialOptions
    opt.publicKey.user.name = displayName
    opt.publicKey.user.displayName = displayName
    createPasskey(opt, fields.passkey_register)
  }

  function oryPasskeySettingsRegistration() {
    var fields = passkeyCreateFields("passkey_settings_register", "oryPasskeySettingsRegistration")
    if (!fields) {
      return
    }
    createPasskey(JSON.parse(fields.passkey_create_data.value), fields.passkey_settings_register)
  }

  var exported = {
    WebAuthnLogin: oryWebAuthnLogin,
    WebAuthnRegistration: oryWebAuthnRegistration,
    PasskeySettingsRegistration: oryPasskeySettingsRegistration,
    PasskeyLogin: oryPasskeyLogin,
    PasskeyRegistration: oryPasskeyRegistration,
    PasskeyLoginAutocompleteInit: oryPasskeyLoginAutocompleteInit,
  }
  Object.keys(exported).forEach(function (name) {
    // Ory Elements v0 uses the __ory… names, v1 the ory… names.
    window["__ory" + name] = exported[name]
    window["ory" + name] = exported[name]
  })

  window.__oryWebAuthnInitialized = true
  window.dispatchEvent(new CustomEvent("oryWebAuthnInitialized"))
})()
`;

/** Subresource integrity of the served bytes: `sha512-` + base64(SHA-512). */
export const WEBAUTHN_JS_INTEGRITY = `sha512-${createHash('sha512').update(WEBAUTHN_JS, 'utf8').digest('base64')}`;

/**
 * The script node (always group `webauthn`, also in passkey flows). Kratos gives each node it builds a random UUID as
 * nonce; the methods keep it with their ceremony, so the same form renders the same node.
 */
export function webauthnScriptNode(src: string, nonce: string = crypto.randomUUID()): UiScriptNode {
  return scriptNode('webauthn', 'webauthn_script', src, { integrity: WEBAUTHN_JS_INTEGRITY, nonce });
}

/** The route both methods declare (the HTTP layer mounts a path once). */
export const webauthnScriptRoute: MethodRoute = {
  method: 'GET',
  path: WEBAUTHN_SCRIPT_PATH,
  async handle() {
    // The UI loads it from another origin with `crossorigin="anonymous"` and `integrity`: it must be shareable.
    return { kind: 'content', status: 200, contentType: WEBAUTHN_SCRIPT_CONTENT_TYPE, body: WEBAUTHN_JS, shareable: true };
  },
};
