"""The prime's forecast reliability: WAPE and bias by lag, and firm cuts, per relationship × item and rolled up."""
