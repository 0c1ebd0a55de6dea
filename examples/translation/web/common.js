// Shared by report.html and the attention explorer: small DOM helpers, and a record of script
// errors that the browser tests read (window.xgradErrors).
"use strict";
window.xgradErrors = [];
window.addEventListener("error", function (e) { window.xgradErrors.push(String(e.message)); });

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    if (k === "text") node.textContent = attrs[k];
    else if (k === "cls") node.className = attrs[k];
    else node.setAttribute(k, attrs[k]);
  }
  (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return node;
}

function svgEl(tag, attrs) {
  var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
  return node;
}

function readData(id) { return JSON.parse(document.getElementById(id).textContent); }

function fmt(x, digits) { return (Math.round(x * Math.pow(10, digits)) / Math.pow(10, digits)).toFixed(digits); }
