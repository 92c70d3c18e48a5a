-- Argo CD health check for twilio-compliance.io/BundleRenewal (Lua 5.1, as Argo CD runs it).
-- It reads the resource the way kstatus does (deletion, observedGeneration, Stalled,
-- Reconciling, Ready), and spec.suspend as Suspended. A renewal waiting for Twilio's review of
-- a still-valid bundle is Healthy: Ready stays True, the renewal is in the Renewing condition.
local hs = {}
local status = obj.status
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted: the operator deletes the renewal copy, if any"
  return hs
end
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the resource"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: no Twilio call is made"
  return hs
end
local found = {}
for _, condition in ipairs(status.conditions) do
  if condition.type ~= nil then
    found[condition.type] = condition
  end
end
local function said(condition)
  local text = condition.reason or ""
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end
local stalled, reconciling, ready, renewing = found["Stalled"], found["Reconciling"], found["Ready"], found["Renewing"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled)
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = said(reconciling)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  if renewing ~= nil and renewing.status == "True" then
    hs.message = "Renewing (" .. said(renewing) .. ")"
  else
    hs.message = said(ready)
  end
  return hs
end
hs.status = "Progressing"
if ready ~= nil then
  hs.message = said(ready)
else
  hs.message = "Waiting for the Ready condition"
end
return hs
