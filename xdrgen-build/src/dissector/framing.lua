-- ONC RPC record marking (RFC 5531 section 11) and libvirt framing, call
-- and reply headers, and the hand-off to the generated body decoders
-- above. Calls are remembered per TCP stream by xid (ONC RPC) or serial
-- (libvirt), so a reply is decoded as its call's result.

local tcp_stream = Field.new("tcp.stream")
local pending = {}

local function stream_key(pinfo, id)
    local stream = tcp_stream()
    return tostring(stream and stream.value or 0) .. ":" .. tostring(id)
end

local function body(tvb, tree, off, decode)
    local ok, err = pcall(function()
        local done = decode(tvb, tree, off, 0)
        if done < tvb:len() then
            tree:add_proto_expert_info(EXPERT_TRAILING,
                string.format("%d bytes after the body", tvb:len() - done))
        end
    end)
    if not ok then
        tree:add_proto_expert_info(EXPERT_MALFORMED, tostring(err))
    end
end

local function opaque_auth(tvb, tree, off, flavor, len, data)
    tree:add(flavor, tvb(off, 4))
    local n = tvb(off + 4, 4):uint()
    tree:add(len, tvb(off + 4, 4))
    if n > 400 then error("authentication body longer than 400 bytes") end
    if n > 0 then tree:add(data, tvb(off + 8, n)) end
    return off + 8 + n + (4 - n % 4) % 4
end

local function onc_message(tvb, pinfo, tree)
    local xid = tvb(0, 4):uint()
    local mtype = tvb(4, 4):uint()
    tree:add(F["rpc.xid"], tvb(0, 4))
    tree:add(F["rpc.msg_type"], tvb(4, 4))
    if mtype == 0 then
        local prog, vers, proc = tvb(12, 4):uint(), tvb(16, 4):uint(), tvb(20, 4):uint()
        tree:add(F["rpc.rpcvers"], tvb(8, 4))
        tree:add(F["rpc.program"], tvb(12, 4))
        tree:add(F["rpc.version"], tvb(16, 4))
        local names = PROCEDURE_NAMES[prog .. "." .. vers] or {}
        tree:add(F["rpc.procedure"], tvb(20, 4)):append_text(" (" .. (names[proc] or "unknown") .. ")")
        local off = opaque_auth(tvb, tree, 24, F["rpc.cred_flavor"], F["rpc.cred_len"], F["rpc.cred_body"])
        off = opaque_auth(tvb, tree, off, F["rpc.verf_flavor"], F["rpc.verf_len"], F["rpc.verf_body"])
        local key = prog .. "." .. vers .. "." .. proc
        pending[stream_key(pinfo, xid)] = key
        pinfo.cols.info:append(string.format(" Call %s xid 0x%08x", names[proc] or key, xid))
        local decode = CALLS[key]
        if decode then body(tvb, tree, off, decode) end
    elseif mtype == 1 then
        local rstat = tvb(8, 4):uint()
        tree:add(F["rpc.reply_stat"], tvb(8, 4))
        local key = pending[stream_key(pinfo, xid)]
        pinfo.cols.info:append(string.format(" Reply xid 0x%08x", xid))
        if rstat ~= 0 then return end
        local off = opaque_auth(tvb, tree, 12, F["rpc.verf_flavor"], F["rpc.verf_len"], F["rpc.verf_body"])
        local astat = tvb(off, 4):uint()
        tree:add(F["rpc.accept_stat"], tvb(off, 4))
        local decode = key and REPLIES[key]
        if astat == 0 and decode then body(tvb, tree, off + 4, decode) end
    end
end

-- Reads record-marked messages from a TCP payload; asks for more segments
-- when a record is cut. Returns the bytes consumed, or 0 if not ours.
local function onc_records(tvb, pinfo, tree)
    local off = 0
    local total = tvb:len()
    while off < total do
        local parts = {}
        local at = off
        local complete = false
        while true do
            if total - at < 4 then break end
            local mark = tvb(at, 4):uint()
            local len = mark % 0x80000000
            if total - at - 4 < len then
                pinfo.desegment_offset = off
                pinfo.desegment_len = len - (total - at - 4)
                return total
            end
            parts[#parts + 1] = tvb:bytes(at + 4, len)
            at = at + 4 + len
            if mark >= 0x80000000 then complete = true break end
        end
        if not complete then
            pinfo.desegment_offset = off
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        local record = tvb(off, at - off)
        local msg = tvb
        local msg_tvb
        if #parts == 1 then
            msg_tvb = tvb(off + 4, at - off - 4):tvb()
        else
            local all = ByteArray.new()
            for _, p in ipairs(parts) do all:append(p) end
            msg_tvb = all:tvb("ONC RPC record")
        end
        local subtree = tree:add(proto, record)
        pcall(onc_message, msg_tvb, pinfo, subtree)
        off = at
    end
    return off
end

local function libvirt_packets(tvb, pinfo, tree)
    local off = 0
    local total = tvb:len()
    while off < total do
        if total - off < 4 then
            pinfo.desegment_offset = off
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        local len = tvb(off, 4):uint()
        if len < 28 or len > 33554432 then return off end
        if total - off < len then
            pinfo.desegment_offset = off
            pinfo.desegment_len = len - (total - off)
            return total
        end
        local pkt = tvb(off, len):tvb()
        local t = tree:add(proto, tvb(off, len))
        t:add(F["libvirt.length"], pkt(0, 4))
        local prog, vers, proc = pkt(4, 4):uint(), pkt(8, 4):uint(), pkt(12, 4):int()
        local ptype, serial, status = pkt(16, 4):uint(), pkt(20, 4):uint(), pkt(24, 4):uint()
        t:add(F["libvirt.program"], pkt(4, 4))
        t:add(F["libvirt.version"], pkt(8, 4))
        local names = PROCEDURE_NAMES[prog .. "." .. vers] or {}
        t:add(F["libvirt.procedure"], pkt(12, 4)):append_text(" (" .. (names[proc] or "unknown") .. ")")
        t:add(F["libvirt.type"], pkt(16, 4))
        t:add(F["libvirt.serial"], pkt(20, 4))
        t:add(F["libvirt.status"], pkt(24, 4))
        local key = prog .. "." .. vers .. "." .. proc
        pinfo.cols.info:append(string.format(" %s serial %d", names[proc] or key, serial))
        local decode
        if ptype == 0 or ptype == 4 then decode = CALLS[key]
        elseif (ptype == 1 or ptype == 5) and status == 0 then decode = REPLIES[key]
        elseif ptype == 2 then decode = EVENTS[key]
        end
        if decode then body(pkt, t, 28, decode) end
        off = off + len
    end
    return off
end

function proto.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = proto.name
    if LIBVIRT_PROGRAMS[tvb(4, 4):uint()] and tvb:len() >= 28 then
        return libvirt_packets(tvb, pinfo, tree)
    end
    return onc_records(tvb, pinfo, tree)
end

-- Heuristics: an ONC RPC call of one of the file's programs, a reply to a
-- call seen, or a libvirt packet of one of its protocols.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < 12 then return false end
    local first = tvb(4, 4):uint()
    if tvb:len() >= 28 and LIBVIRT_PROGRAMS[first] then
        -- The rest of the stream comes straight to us, segment by segment.
        pinfo.conversation = proto
        proto.dissector(tvb, pinfo, tree)
        return true
    end
    local mtype = tvb(8, 4):uint()
    if mtype == 0 and tvb:len() >= 28 and tvb(12, 4):uint() == 2 and ONC_PROGRAMS[tvb(16, 4):uint()]
        or mtype == 1 and pending[stream_key(pinfo, first)] then
        pinfo.conversation = proto
        proto.dissector(tvb, pinfo, tree)
        return true
    end
    return false
end
proto:register_heuristic("tcp", heuristic)
for _, port in ipairs(PORTS) do DissectorTable.get("tcp.port"):add(port, proto) end
