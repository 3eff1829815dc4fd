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

  function assertionJSON(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: encode(credential.response.authenticatorData),
        clientDataJSON: encode(credential.response.clientDataJSON),
        signature: encode(credential.response.signature),
        userHandle: encode(credential.response.userHandle),
      },
    })
  }

  function attestationJSON(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: encode(credential.response.attestationObject),
        clientDataJSON: encode(credential.response.clientDataJSON),
      },
    })
  }

  function byName(name) {
    return document.getElementsByName(name)[0]
  }

  function abortConditionalUI() {
    if (window.abortPasskeyConditionalUI) {
      window.abortPasskeyConditionalUI.abort("Canceling Passkey autocomplete to complete trigger-based passkey login.")
      window.abortPasskeyConditionalUI = undefined
    }
  }

  function oryWebAuthnLogin(options, resultSelector, triggerSelector) {
    resultSelector = resultSelector || '*[name="webauthn_login"]'
    triggerSelector = triggerSelector || '*[name="webauthn_login_trigger"]'
    if (!window.PublicKeyCredential) {
      alert("This browser does not support WebAuthn!")
    }
    var trigger = document.querySelector(triggerSelector)
    var opt = options || JSON.parse(trigger.value)
    opt.publicKey = requestOptions(opt.publicKey)
    navigator.credentials
      .get(opt)
      .then(function (credential) {
        document.querySelector(resultSelector).value = assertionJSON(credential)
        trigger.closest("form").submit()
      })
      .catch(function (err) {
        alert(err)
      })
  }

  function oryWebAuthnRegistration(options, resultSelector, triggerSelector) {
    resultSelector = resultSelector || '*[name="webauthn_register"]'
    triggerSelector = triggerSelector || '*[name="webauthn_register_trigger"]'
    if (!window.PublicKeyCredential) {
      alert("This browser does not support WebAuthn!")
    }
    var trigger = document.querySelector(triggerSelector)
    var opt = options || JSON.parse(trigger.value)
    opt.publicKey = creationOptions(opt.publicKey)
    navigator.credentials
      .create(opt)
      .then(function (credential) {
        document.querySelector(resultSelector).value = attestationJSON(credential)
        trigger.closest("form").submit()
      })
      .catch(function (err) {
        alert(err)
      })
  }

  async function oryPasskeyLoginAutocompleteInit() {
    var dataEl = byName("passkey_challenge")
    var resultEl = byName("passkey_login")
    var identifierEl = byName("identifier")
    if (!dataEl || !resultEl || !identifierEl) {
      console.error("Unable to initialize WebAuthn / Passkey autocomplete because one or more required form fields are missing.")
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
    var opt = JSON.parse(dataEl.value)
    var publicKey = requestOptions(opt.publicKey)
    abortConditionalUI()
    var controller = new AbortController()
    window.abortPasskeyConditionalUI = controller
    navigator.credentials
      .get({ publicKey: publicKey, mediation: "conditional", signal: controller.signal })
      .then(function (credential) {
        resultEl.value = assertionJSON(credential)
        resultEl.closest("form").submit()
      })
      .catch(function (err) {
        console.log(err)
      })
  }

  function oryPasskeyLogin() {
    var dataEl = byName("passkey_challenge")
    var resultEl = byName("passkey_login")
    if (!dataEl || !resultEl) {
      console.error("Unable to initialize WebAuthn / Passkey autocomplete because one or more required form fields are missing.")
      return
    }
    if (!window.PublicKeyCredential) {
      console.log("This browser does not support WebAuthn!")
      return
    }
    var opt = JSON.parse(dataEl.value)
    var publicKey = requestOptions(opt.publicKey)
    abortConditionalUI()
    return navigator.credentials
      .get({ publicKey: publicKey })
      .then(function (credential) {
        resultEl.value = assertionJSON(credential)
        resultEl.closest("form").submit()
      })
      .catch(function (err) {
        if (err instanceof DOMException && err.name === "SecurityError") {
          console.error("A security exception occurred while loading Passkeys / WebAuthn. The original error message is: " + err.message)
        } else {
          console.error("[Ory/Passkey] An unknown error occurred while getting passkey credentials", err)
        }
        // Offer autocomplete again.
        return oryPasskeyLoginAutocompleteInit()
      })
  }

  function oryPasskeyRegistration() {
    var dataEl = byName("passkey_create_data")
    var resultEl = byName("passkey_register")
    if (!dataEl || !resultEl) {
      console.debug("__oryPasskeyRegistration: mandatory fields not found")
      return
    }
    var createData = JSON.parse(dataEl.value)
    var fieldNames = Array.isArray(createData.displayNameFieldNames) && createData.displayNameFieldNames.length > 0
      ? createData.displayNameFieldNames
      : [createData.displayNameFieldName]
    var form = dataEl.closest("form")
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
    opt.publicKey = creationOptions(opt.publicKey)
    navigator.credentials
      .create(opt)
      .then(function (credential) {
        resultEl.value = attestationJSON(credential)
        resultEl.closest("form").submit()
      })
      .catch(function (err) {
        console.error(err)
      })
  }

  function oryPasskeySettingsRegistration() {
    var dataEl = byName("passkey_create_data")
    var resultEl = byName("passkey_settings_register")
    if (!dataEl || !resultEl) {
      console.debug("__oryPasskeySettingsRegistration: mandatory fields not found")
      return
    }
    var opt = JSON.parse(dataEl.value)
    opt.publicKey = creationOptions(opt.publicKey)
    navigator.credentials
      .create(opt)
      .then(function (credential) {
        resultEl.value = attestationJSON(credential)
        resultEl.closest("form").submit()
      })
      .catch(function (err) {
        console.error(err)
      })
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
