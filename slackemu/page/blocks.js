// Block Kit to DOM: the blocks a ChatOps bot sends, rendered readably, buttons clickable.
"use strict";

function textObject(obj, users) {
  if (!obj) return "";
  if (obj.type === "mrkdwn") return mrkdwn(obj.text || "", users);
  const plain = escapeHtml(obj.text || "");
  return obj.emoji === false ? plain : emoji(plain);
}

function buttonElement(element, blockId, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "block-button" + (element.style ? " " + element.style : "");
  button.dataset.actionId = element.action_id || "";
  button.dataset.blockId = blockId || "";
  button.innerHTML = textObject(element.text, {});
  button.addEventListener("click", () => onClick(element));
  return button;
}

function renderElement(element, blockId, users, onClick) {
  if (element.type === "button") return buttonElement(element, blockId, onClick);
  const span = document.createElement("span");
  if (element.type === "image") {
    const img = document.createElement("img");
    img.src = element.image_url; img.alt = element.alt_text || "";
    span.appendChild(img);
  } else if (element.type === "mrkdwn" || element.type === "plain_text") {
    span.innerHTML = textObject(element, users);
  } else {
    span.textContent = `[${element.type}]`;
  }
  return span;
}

function richText(block, users) {
  const parts = [];
  for (const section of block.elements || []) {
    for (const el of section.elements || []) {
      if (el.type === "text") parts.push(el.text);
      else if (el.type === "user") parts.push(`<@${el.user_id}>`);
      else if (el.type === "link") parts.push(el.url);
    }
  }
  return mrkdwn(parts.join(""), users);
}

function renderBlock(block, users, onClick) {
  const div = document.createElement("div");
  div.className = "block " + block.type;
  switch (block.type) {
    case "section": {
      if (block.text) div.innerHTML = `<div class="section-text">${textObject(block.text, users)}</div>`;
      if (block.fields) {
        const grid = document.createElement("div");
        grid.className = "fields";
        for (const field of block.fields) {
          const cell = document.createElement("div");
          cell.innerHTML = textObject(field, users);
          grid.appendChild(cell);
        }
        div.appendChild(grid);
      }
      if (block.accessory) div.appendChild(renderElement(block.accessory, block.block_id, users, onClick));
      break;
    }
    case "header": div.innerHTML = textObject(block.text, users); break;
    case "divider": div.innerHTML = "<hr>"; break;
    case "context":
    case "actions":
      for (const element of block.elements || []) {
        div.appendChild(renderElement(element, block.block_id, users, onClick));
      }
      break;
    case "image": {
      const img = document.createElement("img");
      img.src = block.image_url; img.alt = block.alt_text || ""; img.style.maxWidth = "360px";
      div.appendChild(img);
      break;
    }
    case "rich_text": div.innerHTML = richText(block, users); break;
    default: div.textContent = `[unsupported block: ${block.type}]`;
  }
  return div;
}

function renderBlocks(blocks, users, onClick) {
  const frag = document.createDocumentFragment();
  for (const block of blocks || []) frag.appendChild(renderBlock(block, users, onClick));
  return frag;
}
